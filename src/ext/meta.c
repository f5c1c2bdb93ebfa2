/* src/ext/meta.c: the metadata a capture file keeps about its writer.
 *
 * docs/capture-format.md lists the keys: the interpreter, the command as
 * shell words and the recorded options, so that `pygcprofiler report` can
 * say whose capture it reads and render it as the run would have.
 */
#include "ext.h"
#include "recorder.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dump.h"
#include "gc_monitor/logfile.h"

/* Returns 1 when `word` holds a byte that is not part of well-formed UTF-8,
 * which a report could only show as '?'. */
static int
needs_escapes(const char *word)
{
    const unsigned char *s = (const unsigned char *)word;
    size_t n = strlen(word);

    while (n > 0) {
        size_t len = gcm__utf8_length(s, n);
        if (len == 0)
            return 1;
        s += len;
        n -= len;
    }
    return 0;
}

/* Appends `word` to `buf` as a shell word, quoted only when it needs to
 * be, so the capture's command line reads like the one the user typed.  A
 * word with bytes that are not UTF-8 (arguments are bytes) is written in
 * bash's $'...' form, those bytes and control bytes as \xNN: the command
 * stays valid UTF-8, and pasting it gives the program the same bytes. */
static void
meta_put_word(char *buf, size_t size, size_t *len, const char *word)
{
    static const char safe[] =
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@%+=:,./-_";
    static const char hex_digits[] = "0123456789abcdef";
    int plain = word[0] != '\0' && strspn(word, safe) == strlen(word);
    const char *p;

#define PUT(c)                                                                                     \
    do {                                                                                           \
        if (*len + 1 < size)                                                                       \
            buf[(*len)++] = (c);                                                                   \
    } while (0)
    if (plain) {
        for (p = word; *p != '\0'; p++)
            PUT(*p);
    } else if (needs_escapes(word)) {
        const unsigned char *s = (const unsigned char *)word;
        size_t n = strlen(word);

        PUT('$');
        PUT('\'');
        while (n > 0) {
            size_t seq = gcm__utf8_length(s, n);
            if (seq == 0 || (seq == 1 && (*s < 0x20 || *s == 0x7f))) {
                PUT('\\');
                PUT('x');
                PUT(hex_digits[*s >> 4]);
                PUT(hex_digits[*s & 0xf]);
                seq = 1;
            } else if (seq == 1 && (*s == '\'' || *s == '\\')) {
                PUT('\\');
                PUT((char)*s);
            } else {
                for (size_t k = 0; k < seq; k++)
                    PUT((char)s[k]);
            }
            s += seq;
            n -= seq;
        }
        PUT('\'');
    } else {
        PUT('\'');
        for (p = word; *p != '\0'; p++) {
            if (*p == '\'') {
                PUT('\'');
                PUT('"');
                PUT('\'');
                PUT('"');
                PUT('\'');
            } else {
                PUT(*p);
            }
        }
        PUT('\'');
    }
#undef PUT
    buf[*len] = '\0';
}

/* Appends "key=value\n" to `buf`, with newlines in `value` as spaces. */
static void
meta_put_line(char *buf, size_t size, size_t *len, const char *key, const char *value)
{
    int n = snprintf(buf + *len, size - *len, "%s=", key);
    const char *p;

    if (n < 0 || (size_t)n >= size - *len)
        return;
    *len += (size_t)n;
    for (p = value; *p != '\0' && *len + 2 < size; p++)
        buf[(*len)++] = (*p == '\n' || *p == '\r') ? ' ' : *p;
    buf[(*len)++] = '\n';
    buf[*len] = '\0';
}

/* Appends this process's arguments after the first, as the kernel keeps
 * them in /proc/self/cmdline (NUL-separated), as shell words to `command`.
 * Leaves `command` as it is when the file cannot be read. */
static void
cmdline_words(char *command, size_t size, size_t *clen)
{
    char raw[GCM_META_SIZE / 2];
    ssize_t read_len = gcm__read_small_file("/proc/self/cmdline", raw, sizeof raw);
    size_t got;
    size_t at;

    if (read_len < 0)
        return;
    got = (size_t)read_len;
    /* The first word is the program as invoked; sys.executable stands first. */
    at = strlen(raw) + 1;
    while (at < got) {
        if (*clen + 1 < size)
            command[(*clen)++] = ' ';
        meta_put_word(command, size, clen, raw + at);
        at += strlen(raw + at) + 1;
    }
}

/* A word of the command as bytes: as os.fsencode() gives it, so an argument
 * that was not UTF-8 keeps its bytes (the reader shows them escaped); a str
 * the program put into sys.argv that has no such bytes (a lone surrogate
 * outside surrogateescape's range) is kept backslash-escaped rather than
 * dropped from the command. */
static PyObject *
word_bytes(PyObject *word)
{
    PyObject *b = PyUnicode_EncodeFSDefault(word);

    if (b == NULL) {
        PyErr_Clear();
        b = PyUnicode_AsEncodedString(word, "utf-8", "backslashreplace");
    }
    return b;
}

/* Builds the capture file's metadata (docs/capture-format.md) into `buf`:
 * the interpreter, the command the launcher ran (sys.executable and
 * sys.argv[1:], since the bootstrap creates the recorder while sys.argv is
 * still python's ['-c', <target words>]), and the options.  A followed child
 * passes NULL for `argv_name`: its start-up hook runs before python has put
 * the script's path in sys.argv (and 3.9 has no sys.orig_argv), so its words
 * come from the kernel's copy, /proc/self/cmdline.  Never fails: a value that
 * cannot be read is left out. */
void
gcm__capture_meta(const gcm_config *cfg, const char *argv_name, char *buf, size_t size)
{
    char small[GCM_META_SIZE];
    char command[GCM_META_SIZE / 2];
    size_t len = 0;
    size_t clen = 0;
    size_t needed = 0;
    PyObject *exe = PySys_GetObject("executable");                          /* borrowed */
    PyObject *argv = argv_name != NULL ? PySys_GetObject(argv_name) : NULL; /* borrowed */
    Py_ssize_t i;
    int free_threaded = 0;

#ifdef Py_GIL_DISABLED
    free_threaded = 1;
#endif
    buf[0] = '\0';
    command[0] = '\0';
    meta_put_line(buf, size, &len, "pygcprofiler", GCM_VERSION);
    meta_put_line(buf, size, &len, "python_version", gcm__python_version());
    meta_put_line(buf, size, &len, "python_build", Py_GetVersion());
    meta_put_line(buf, size, &len, "free_threaded", free_threaded ? "1" : "0");
    if (exe != NULL && PyUnicode_Check(exe)) {
        PyObject *b = word_bytes(exe);
        if (b != NULL) {
            meta_put_line(buf, size, &len, "executable", PyBytes_AS_STRING(b));
            meta_put_word(command, sizeof command, &clen, PyBytes_AS_STRING(b));
            Py_DECREF(b);
        }
    }
    PyErr_Clear();
    if (argv != NULL && PyList_Check(argv)) {
        for (i = 1; i < PyList_GET_SIZE(argv); i++) {
            PyObject *word = PyList_GET_ITEM(argv, i);
            PyObject *b = PyUnicode_Check(word) ? word_bytes(word) : NULL;
            if (b == NULL)
                continue;
            if (clen + 1 < sizeof command)
                command[clen++] = ' ';
            meta_put_word(command, sizeof command, &clen, PyBytes_AS_STRING(b));
            Py_DECREF(b);
        }
    }
    PyErr_Clear();
    if (argv_name == NULL)
        cmdline_words(command, sizeof command, &clen);
    meta_put_line(buf, size, &len, "command", command);
    /* Last, so that a cut (four long paths can outgrow the area) only ever
     * costs the options line, which the reader then says it cannot read. */
    if (gcm_config_encode(cfg, small, sizeof small, &needed) == 0)
        meta_put_line(buf, size, &len, "options", small);
}
