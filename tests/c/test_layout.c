/* test_layout.c: pins the recording block's layout, so that changing it is a
 * deliberate act that also bumps GCM_LAYOUT_VERSION (4 since the --stacks
 * table after the ring, named by the header word that was reserved; 3 since the request
 * aggregates; version 2 differed only in having none, its ring at 68,160;
 * version 1 had no cause aggregates either, its ring at 68,000).  The numbers below were
 * derived by hand from the field list in block.h (8-byte fields, no hidden
 * padding) and must only change together with the version. */
#include <stddef.h>
#include <stdint.h>

#include "gc_monitor/gc_monitor.h"
#include "gcm_test.h"

static void test_version_and_constants(void)
{
    GCM_CHECK_EQ_U64(GCM_LAYOUT_VERSION, 4);
    GCM_CHECK_EQ_U64(GCM_LAYOUT_VERSION_MIN, 1);
    GCM_CHECK_EQ_U64(GCM_LAYOUT_V1_RING_OFFSET, 68000);
    GCM_CHECK_EQ_U64(GCM_LAYOUT_V2_RING_OFFSET, 68160);
    GCM_CHECK_EQ_U64(GCM_CAUSES, 3);
    GCM_CHECK_EQ_U64(GCM_CAUSE_SLOTS, 4);
    GCM_CHECK_EQ_U64(GCM_EVENT_CAUSE_MASK, 0xCu);
    GCM_CHECK_EQ_U64(GCM_BYTE_ORDER_MARK, 0x01020304u);
    GCM_CHECK_EQ_U64(sizeof(GCM_BLOCK_MAGIC) - 1, 8);
    GCM_CHECK_EQ_U64(GCM_HIST_BUCKETS, 2433);
    GCM_CHECK_EQ_U64(GCM_MAX_BUCKETS, 32);
    GCM_CHECK_EQ_U64(GCM_META_SIZE, 8192);
    GCM_CHECK_EQ_U64(GCM_BURST_GAP_NS, 50000000u);
}

static void test_sizes(void)
{
    GCM_CHECK_EQ_U64(sizeof(gcm_header), 8560);
    GCM_CHECK_EQ_U64(sizeof(gcm_gen_stats), 19792);
    GCM_CHECK_EQ_U64(sizeof(gcm_aggregates), 79128);
    GCM_CHECK_EQ_U64(sizeof(gcm_cause_stats), 40);
    GCM_CHECK_EQ_U64(sizeof(gcm_request_stats), 19528);
    GCM_CHECK_EQ_U64(sizeof(gcm_event_slot), 48);
    GCM_CHECK_EQ_U64(offsetof(gcm_block, header), 0);
    GCM_CHECK_EQ_U64(offsetof(gcm_block, agg), 8560);
    GCM_CHECK_EQ_U64(offsetof(gcm_block, ring), 87688);
    GCM_CHECK_EQ_U64(_Alignof(gcm_block), 8);
}

static void test_block_size(void)
{
    GCM_CHECK_EQ_U64(gcm_block_size(16), 87688 + 16 * 48);
    GCM_CHECK_EQ_U64(gcm_block_size(1024), 87688 + 1024 * 48);
    GCM_CHECK_EQ_U64(gcm_block_size(65536), 3233416);
    GCM_CHECK_EQ_U64(gcm_block_size(1u << 26), 87688 + (uint64_t)48 * (1u << 26));
    /* Not a power of two, or out of range: no size. */
    GCM_CHECK_EQ_U64(gcm_block_size(0), 0);
    GCM_CHECK_EQ_U64(gcm_block_size(8), 0);
    GCM_CHECK_EQ_U64(gcm_block_size(1000), 0);
    GCM_CHECK_EQ_U64(gcm_block_size(65537), 0);
    GCM_CHECK_EQ_U64(gcm_block_size(1u << 27), 0);
    GCM_CHECK_EQ_U64(gcm_block_size(UINT64_MAX), 0);
}

static void test_capacity_for(void)
{
    GCM_CHECK_EQ_U64(gcm_block_capacity_for(0), 16);
    GCM_CHECK_EQ_U64(gcm_block_capacity_for(1), 16);
    GCM_CHECK_EQ_U64(gcm_block_capacity_for(16), 16);
    GCM_CHECK_EQ_U64(gcm_block_capacity_for(17), 32);
    GCM_CHECK_EQ_U64(gcm_block_capacity_for(1000), 1024);
    GCM_CHECK_EQ_U64(gcm_block_capacity_for(65536), 65536);
    GCM_CHECK_EQ_U64(gcm_block_capacity_for(65537), 131072);
    GCM_CHECK_EQ_U64(gcm_block_capacity_for((1u << 26) + 1), 1u << 26);
    GCM_CHECK_EQ_U64(gcm_block_capacity_for(UINT64_MAX), 1u << 26);
}

static void test_field_offsets(void)
{
    GCM_CHECK_EQ_U64(offsetof(gcm_header, magic), 0);
    GCM_CHECK_EQ_U64(offsetof(gcm_header, layout_version), 8);
    GCM_CHECK_EQ_U64(offsetof(gcm_header, byte_order), 12);
    GCM_CHECK_EQ_U64(offsetof(gcm_header, header_size), 16);
    GCM_CHECK_EQ_U64(offsetof(gcm_header, slot_size), 20);
    GCM_CHECK_EQ_U64(offsetof(gcm_header, capacity), 24);
    GCM_CHECK_EQ_U64(offsetof(gcm_header, block_size), 32);
    GCM_CHECK_EQ_U64(offsetof(gcm_header, pid), 40);
    GCM_CHECK_EQ_U64(offsetof(gcm_header, ppid), 48);
    GCM_CHECK_EQ_U64(offsetof(gcm_header, process_start_ticks), 56);
    GCM_CHECK_EQ_U64(offsetof(gcm_header, init_realtime_ns), 64);
    GCM_CHECK_EQ_U64(offsetof(gcm_header, init_monotonic_ns), 72);
    GCM_CHECK_EQ_U64(offsetof(gcm_header, alert_threshold_ns), 80);
    GCM_CHECK_EQ_U64(offsetof(gcm_header, bucket_count), 88);
    GCM_CHECK_EQ_U64(offsetof(gcm_header, stacks_size), 92);
    GCM_CHECK_EQ_U64(offsetof(gcm_header, bucket_bounds_ns), 96);
    GCM_CHECK_EQ_U64(offsetof(gcm_header, state), 352);
    GCM_CHECK_EQ_U64(offsetof(gcm_header, exit_status), 356);
    GCM_CHECK_EQ_U64(offsetof(gcm_header, end_realtime_ns), 360);
    GCM_CHECK_EQ_U64(offsetof(gcm_header, meta), 368);
    GCM_CHECK_EQ_U64(offsetof(gcm_aggregates, seq), 0);
    GCM_CHECK_EQ_U64(offsetof(gcm_aggregates, dropped_stops), 8);
    GCM_CHECK_EQ_U64(offsetof(gcm_aggregates, unusable_info), 16);
    GCM_CHECK_EQ_U64(offsetof(gcm_aggregates, bursts), 24);
    GCM_CHECK_EQ_U64(offsetof(gcm_aggregates, last_stop_ns), 32);
    GCM_CHECK_EQ_U64(offsetof(gcm_aggregates, unseen), 40);
    GCM_CHECK_EQ_U64(offsetof(gcm_aggregates, event_flags), 48);
    GCM_CHECK_EQ_U64(offsetof(gcm_aggregates, missed), 56);
    GCM_CHECK_EQ_U64(offsetof(gcm_aggregates, gen), 64);
    GCM_CHECK_EQ_U64(offsetof(gcm_aggregates, cause), 59440);
    GCM_CHECK_EQ_U64(offsetof(gcm_aggregates, requests), 59600);
    GCM_CHECK_EQ_U64(offsetof(gcm_request_stats, gc_ns), 0);
    GCM_CHECK_EQ_U64(offsetof(gcm_request_stats, max_ns), 8);
    GCM_CHECK_EQ_U64(offsetof(gcm_request_stats, full), 16);
    GCM_CHECK_EQ_U64(offsetof(gcm_request_stats, reserved), 24);
    GCM_CHECK_EQ_U64(offsetof(gcm_request_stats, hist), 64);
    GCM_CHECK_EQ_U64(offsetof(gcm_cause_stats, total_ns), 0);
    GCM_CHECK_EQ_U64(offsetof(gcm_cause_stats, max_ns), 8);
    GCM_CHECK_EQ_U64(offsetof(gcm_cause_stats, gen_count), 16);
    GCM_CHECK_EQ_U64(offsetof(gcm_gen_stats, count), 0);
    GCM_CHECK_EQ_U64(offsetof(gcm_gen_stats, total_ns), 8);
    GCM_CHECK_EQ_U64(offsetof(gcm_gen_stats, min_ns), 16);
    GCM_CHECK_EQ_U64(offsetof(gcm_gen_stats, max_ns), 24);
    GCM_CHECK_EQ_U64(offsetof(gcm_gen_stats, collected), 32);
    GCM_CHECK_EQ_U64(offsetof(gcm_gen_stats, uncollectable), 40);
    GCM_CHECK_EQ_U64(offsetof(gcm_gen_stats, candidates), 48);
    GCM_CHECK_EQ_U64(offsetof(gcm_gen_stats, alerts), 56);
    GCM_CHECK_EQ_U64(offsetof(gcm_gen_stats, buckets), 64);
    GCM_CHECK_EQ_U64(offsetof(gcm_gen_stats, hist), 328);
    GCM_CHECK_EQ_U64(offsetof(gcm_event_slot, start_ns), 0);
    GCM_CHECK_EQ_U64(offsetof(gcm_event_slot, duration_ns), 8);
    GCM_CHECK_EQ_U64(offsetof(gcm_event_slot, collected), 16);
    GCM_CHECK_EQ_U64(offsetof(gcm_event_slot, uncollectable), 24);
    GCM_CHECK_EQ_U64(offsetof(gcm_event_slot, candidates), 32);
    GCM_CHECK_EQ_U64(offsetof(gcm_event_slot, generation), 40);
    GCM_CHECK_EQ_U64(offsetof(gcm_event_slot, flags), 44);
}

/* The --stacks table after the ring of a version 4 capture (docs/capture-format.md). */
static void test_stack_table_layout(void)
{
    GCM_CHECK_EQ_U64(sizeof(gcm_stack_table), 88);
    GCM_CHECK_EQ_U64(offsetof(gcm_stack_table, used), 24);
    GCM_CHECK_EQ_U64(offsetof(gcm_stack_table, other_stacks), 32);
    GCM_CHECK_EQ_U64(offsetof(gcm_stack_table, unnamed), 80);
    GCM_CHECK_EQ_U64(sizeof(gcm_stack_entry), 64);
    GCM_CHECK_EQ_U64(offsetof(gcm_stack_entry, count), 16);
    GCM_CHECK_EQ_U64(offsetof(gcm_stack_entry, explicit_count), 56);
    GCM_CHECK_EQ_U64(sizeof(gcm_stack_frame), 12);
    GCM_CHECK_EQ_U64(sizeof(gcm_stack_site), 256);
    /* The default table: header, index, entries, frames, sites. */
    GCM_CHECK_EQ_U64(gcm_stacks_size(1024, 32, 4096),
                     88 + 4 * 2048 + 64 * 1024 + 12 * 1024 * 32 + 256 * 4096);
}

int main(void)
{
    GCM_RUN(test_version_and_constants);
    GCM_RUN(test_stack_table_layout);
    GCM_RUN(test_sizes);
    GCM_RUN(test_block_size);
    GCM_RUN(test_capacity_for);
    GCM_RUN(test_field_offsets);
    return 0;
}
