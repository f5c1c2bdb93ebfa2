/* test_html.c: the HTML page of --html-file, from fabricated recordings.
 *
 * The page is read back from a file and its embedded data parsed with
 * cJSON: the timeline of a window above the point limit keeps exactly the
 * limit, every pause above the p99 among them; the histogram holds every
 * pause; text from the recording cannot close the data element; the page
 * forbids network requests.
 */
#include <cjson/cJSON.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test_report_fixture.h"

#define MS(x) ((uint64_t)((x)*1e6 + 0.5))

/* Renders the fixture's page into a file and returns its bytes. */
static char *render(fixture *f)
{
    char path[] = "/tmp/gcm-test-html-XXXXXX";
    int fd = mkstemp(path);
    struct stat st;
    char *text;

    GCM_CHECK(fd >= 0);
    GCM_CHECK_EQ_INT(unlink(path), 0);
    GCM_CHECK_EQ_INT(gcm_html_render_fd(&f->in, fd), 0);
    GCM_CHECK_EQ_INT(fstat(fd, &st), 0);
    text = malloc((size_t)st.st_size + 1);
    GCM_CHECK(text != NULL);
    GCM_CHECK(pread(fd, text, (size_t)st.st_size, 0) == st.st_size);
    text[st.st_size] = '\0';
    GCM_CHECK_EQ_INT(close(fd), 0);
    return text;
}

/* The page's data object. */
static cJSON *page_data(const char *page)
{
    static const char open_tag[] = "<script type=\"application/json\" id=\"gcm-data\">";
    const char *start = strstr(page, open_tag);
    const char *end;
    cJSON *data;
    char *json;

    GCM_CHECK(start != NULL);
    start += sizeof open_tag - 1;
    end = strstr(start, "</script>");
    GCM_CHECK(end != NULL);
    json = strndup(start, (size_t)(end - start));
    GCM_CHECK(json != NULL);
    data = cJSON_Parse(json);
    GCM_CHECK(data != NULL);
    free(json);
    return data;
}

static double number(const cJSON *obj, const char *key)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);

    GCM_CHECK(cJSON_IsNumber(item));
    return item->valuedouble;
}

static void test_big_window_is_sampled_keeping_the_tail(void)
{
    fixture f;
    cJSON *data, *events, *d, *hist, *item;
    char *page;
    double p99_ms;
    size_t slow = 0, shown_slow = 0, hist_total = 0;

    fixture_init(&f, 65536, MS(50));
    for (size_t i = 0; i < 50000; i++) {
        int is_slow = i % 397 == 0; /* 126 slow ones, spread through the run */

        slow += (size_t)is_slow;
        fixture_add(&f, (double)i * 0.5, is_slow ? 2u : 0u, is_slow ? MS(40) : MS(0.1) + i % 7, 10,
                    0);
    }
    fixture_finish(&f, 30000.0, "3.12.1", 0);
    page = render(&f);
    GCM_CHECK(strstr(page, "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src "
                           "'none';") != NULL);
    GCM_CHECK(strstr(page, "connect-src 'none'") != NULL);
    GCM_CHECK(strstr(page, " src=") == NULL);
    GCM_CHECK(strstr(page, "href=") == NULL);
    data = page_data(page);
    events = cJSON_GetObjectItemCaseSensitive(data, "events");
    GCM_CHECK(events != NULL);
    GCM_CHECK(number(events, "retained") == 50000.0);
    GCM_CHECK(number(events, "shown") == 20000.0);
    GCM_CHECK(number(events, "above_p99") == (double)slow);
    d = cJSON_GetObjectItemCaseSensitive(events, "d");
    GCM_CHECK_EQ_U64((uint64_t)cJSON_GetArraySize(d), 20000);
    p99_ms = number(events, "tail_ms");
    cJSON_ArrayForEach(item, d) shown_slow += item->valuedouble > p99_ms;
    GCM_CHECK_EQ_U64(shown_slow, slow);
    /* The summary is the --json summary object, whole. */
    GCM_CHECK(number(cJSON_GetObjectItemCaseSensitive(data, "summary"), "count") == 50000.0);
    /* The histograms hold every pause, not the sample. */
    hist = cJSON_GetObjectItemCaseSensitive(data, "histogram");
    GCM_CHECK(number(hist, "per_octave") == 4.0);
    for (int g = 0; g < 3; g++) {
        char key[8];

        (void)snprintf(key, sizeof key, "gen%d", g);
        cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(hist, key))
        {
            GCM_CHECK_EQ_INT(cJSON_GetArraySize(item), 2);
            hist_total += (size_t)cJSON_GetArrayItem(item, 1)->valuedouble;
        }
    }
    GCM_CHECK_EQ_U64(hist_total, 50000);
    cJSON_Delete(data);
    free(page);
    fixture_release(&f);
}

static void test_small_window_is_shown_whole(void)
{
    fixture f;
    cJSON *data, *events, *t;
    char *page;

    fixture_init(&f, 16, MS(50));
    fixture_add(&f, 100.0, 0, MS(0.2), 100, 0);
    fixture_add(&f, 250.5, 1, MS(1.5), 300, 1);
    fixture_add(&f, 1300.0, 2, MS(12.25), 900, 0);
    fixture_finish(&f, 2000.0, "3.14.0", 1);
    page = render(&f);
    data = page_data(page);
    events = cJSON_GetObjectItemCaseSensitive(data, "events");
    GCM_CHECK(number(events, "shown") == 3.0);
    t = cJSON_GetObjectItemCaseSensitive(events, "t");
    /* Seconds since monitoring started, to the microsecond. */
    GCM_CHECK(cJSON_GetArrayItem(t, 1)->valuedouble == 0.2505);
    GCM_CHECK(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(events, "u"), 1)->valuedouble ==
              1.0);
    GCM_CHECK(strstr(cJSON_GetObjectItemCaseSensitive(data, "title")->valuestring,
                     "Python 3.14.0 (free-threaded)") != NULL);
    cJSON_Delete(data);
    free(page);
    fixture_release(&f);
}

static void test_recorded_text_cannot_close_the_data(void)
{
    fixture f;
    cJSON *data;
    char *page;
    const char *tag;

    fixture_init(&f, 16, MS(50));
    fixture_add(&f, 100.0, 0, MS(0.2), 100, 0);
    fixture_finish(&f, 2000.0, "3.12</script><script>alert(1)</script>", 0);
    page = render(&f);
    GCM_CHECK(strstr(page, "alert(1)") != NULL);
    GCM_CHECK(strstr(page, "<script>alert(1)") == NULL);
    /* Only the page's own two closing tags of script elements. */
    tag = strstr(page, "</script>");
    GCM_CHECK(tag != NULL);
    tag = strstr(tag + 1, "</script>");
    GCM_CHECK(tag != NULL);
    GCM_CHECK(strstr(tag + 1, "</script>") == NULL);
    data = page_data(page);
    GCM_CHECK(strstr(cJSON_GetObjectItemCaseSensitive(data, "title")->valuestring,
                     "3.12</script><script>alert(1)</script>") != NULL);
    cJSON_Delete(data);
    free(page);
    fixture_release(&f);
}

static void test_the_file_is_private_and_replaced(void)
{
    fixture f;
    char dir[] = "/tmp/gcm-test-html-dir-XXXXXX";
    char path[64];
    struct stat st;
    FILE *old;

    GCM_CHECK(mkdtemp(dir) != NULL);
    (void)snprintf(path, sizeof path, "%s/gc.html", dir);
    old = fopen(path, "w");
    GCM_CHECK(old != NULL);
    GCM_CHECK(fputs("old", old) >= 0);
    GCM_CHECK_EQ_INT(fclose(old), 0);
    GCM_CHECK_EQ_INT(chmod(path, 0644), 0);
    fixture_init(&f, 16, MS(50));
    fixture_add(&f, 100.0, 0, MS(0.2), 100, 0);
    fixture_finish(&f, 2000.0, "3.12.1", 0);
    (void)snprintf(f.config.html_file, sizeof f.config.html_file, "%s", path);
    GCM_CHECK_EQ_INT(gcm_report_write_html(&f.in), 0);
    GCM_CHECK_EQ_INT(stat(path, &st), 0);
    GCM_CHECK_EQ_INT((int)(st.st_mode & 0777), 0600);
    GCM_CHECK(st.st_size > 1000);
    /* A directory at the path is refused and left alone. */
    GCM_CHECK_EQ_INT(unlink(path), 0);
    GCM_CHECK_EQ_INT(mkdir(path, 0700), 0);
    GCM_CHECK(gcm_report_write_html(&f.in) != 0);
    GCM_CHECK_EQ_INT(rmdir(path), 0);
    GCM_CHECK_EQ_INT(rmdir(dir), 0);
    fixture_release(&f);
}

int main(void)
{
    GCM_RUN(test_big_window_is_sampled_keeping_the_tail);
    GCM_RUN(test_small_window_is_shown_whole);
    GCM_RUN(test_recorded_text_cannot_close_the_data);
    GCM_RUN(test_the_file_is_private_and_replaced);
    return 0;
}
