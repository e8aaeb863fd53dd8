/* kbr_doc.c - see kbr_doc.h. */
#include "bench/report/kbr_doc.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <md4c-html.h>

static void md_esc(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '|') fputs("\\|", f);
        else if (*s == '\n') fputc(' ', f);
        else fputc(*s, f);
    }
}

/* Both Markdown streams: the file, and the in-memory twin md4c renders. */
static void put(doc *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(doc *d, const char *fmt, ...)
{
    va_list ap, aq;
    va_start(ap, fmt);
    va_copy(aq, ap);
    vfprintf(d->md, fmt, ap);
    vfprintf(d->hmd, fmt, aq);
    va_end(aq);
    va_end(ap);
}

int doc_open(doc *d, const char *md_path, const char *html_path, const char *title, char *err, size_t errlen)
{
    memset(d, 0, sizeof *d);
    d->title = title;
    if (kb_afile_open(&d->md_file, md_path) || kb_afile_open(&d->html_file, html_path) ||
        !(d->hmd = open_memstream(&d->hbuf, &d->hlen))) {
        snprintf(err, errlen, "%s: cannot write: %s", d->md_file.f ? html_path : md_path, strerror(errno));
        doc_abort(d);
        return -1;
    }
    d->md = d->md_file.f;
    d->html = d->html_file.f;
    return 0;
}

void doc_abort(doc *d)
{
    kb_afile_abort(&d->md_file);
    kb_afile_abort(&d->html_file);
    if (d->hmd) fclose(d->hmd);
    free(d->hbuf);
    d->md = d->html = d->hmd = NULL;
    d->hbuf = NULL;
}

static void end_list(doc *d)
{
    if (!d->in_list) return;
    put(d, "\n");
    d->in_list = 0;
}

static void html_out(const MD_CHAR *text, MD_SIZE size, void *f) { fwrite(text, 1, size, f); }

/* The HTML: a head, the Markdown twin rendered by md4c (GitHub tables; raw
 * HTML in the text stays text), a foot. */
static int render_html(doc *d)
{
    if (fclose(d->hmd)) return d->hmd = NULL, -1;
    d->hmd = NULL;
    fprintf(d->html, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>%s</title>\n"
                     "<style>body{font-family:sans-serif;max-width:1400px;margin:2em auto;padding:0 1em}"
                     "table{border-collapse:collapse;margin:1em 0;font-size:90%%}"
                     "td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}th{background:#eee}"
                     "img{max-width:100%%}</style></head><body>\n", d->title);
    int rc = md_html(d->hbuf, (MD_SIZE)d->hlen, html_out, d->html, MD_DIALECT_GITHUB | MD_FLAG_NOHTML, 0);
    fputs("</body></html>\n", d->html);
    return rc ? -1 : 0;
}

int doc_commit(doc *d, char *err, size_t errlen)
{
    end_list(d);
    const char *bad = render_html(d) ? "HTML rendering" : kb_afile_commit(&d->md_file) ? "report"
                    : kb_afile_commit(&d->html_file) ? "HTML" : NULL;
    if (bad) snprintf(err, errlen, "cannot finish the %s: %s", bad, strerror(errno));
    doc_abort(d); /* removes what is left of the temporaries */
    return bad ? -1 : 0;
}

/* The text of fmt, ... in a malloc'd string (never cut); NULL when out of
 * memory, which the writers below print as an empty block. */
static char *doc_vformat(const char *fmt, va_list ap)
{
    va_list aq;
    va_copy(aq, ap);
    int n = vsnprintf(NULL, 0, fmt, aq);
    va_end(aq);
    char *buf = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (buf) vsnprintf(buf, (size_t)n + 1, fmt, ap);
    return buf;
}

#define DOC_FORMAT(buf, fmt)                                                                                 \
    va_list ap;                                                                                            \
    va_start(ap, fmt);                                                                                     \
    char *buf = doc_vformat(fmt, ap);                                                                      \
    va_end(ap)

void doc_h(doc *d, int level, const char *fmt, ...)
{
    DOC_FORMAT(buf, fmt);
    end_list(d);
    put(d, "%.*s %s\n\n", level, "######", buf ? buf : "");
    free(buf);
}

void doc_p(doc *d, const char *fmt, ...)
{
    DOC_FORMAT(buf, fmt);
    end_list(d);
    put(d, "%s\n\n", buf ? buf : "");
    free(buf);
}

void doc_li(doc *d, const char *fmt, ...)
{
    DOC_FORMAT(buf, fmt);
    d->in_list = 1;
    put(d, "- %s\n", buf ? buf : "");
    free(buf);
}

/* One table line. */
static void put_cells(doc *d, int nc, const char *const *cells)
{
    put(d, "|");
    for (int i = 0; i < nc; i++) {
        put(d, " ");
        md_esc(d->md, cells[i]);
        md_esc(d->hmd, cells[i]);
        put(d, " |");
    }
    put(d, "\n");
}

void doc_table(doc *d, int nc, const char *const *hdr)
{
    end_list(d);
    put_cells(d, nc, hdr);
    put(d, "|");
    for (int i = 0; i < nc; i++) put(d, "---|");
    put(d, "\n");
}

void doc_row(doc *d, int nc, const char *const *cells) { put_cells(d, nc, cells); }

void doc_table_end(doc *d) { put(d, "\n"); }

static void base64_file(FILE *out, const char *path)
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    FILE *f = fopen(path, "rb");
    if (!f) return;
    unsigned char in[3];
    size_t n;
    while ((n = fread(in, 1, 3, f)) > 0) {
        unsigned v = (unsigned)in[0] << 16 | (n > 1 ? (unsigned)in[1] << 8 : 0) | (n > 2 ? in[2] : 0);
        fputc(b64[v >> 18 & 63], out);
        fputc(b64[v >> 12 & 63], out);
        fputc(n > 1 ? b64[v >> 6 & 63] : '=', out);
        fputc(n > 2 ? b64[v & 63] : '=', out);
    }
    fclose(f);
}

/* Markdown links the image; the HTML embeds it (a data URI), so the page
 * stands alone. */
void doc_img(doc *d, const char *alt, const char *rel, const char *abs)
{
    end_list(d);
    fprintf(d->md, "![%s](%s)\n\n", alt, rel);
    fprintf(d->hmd, "![%s](data:image/png;base64,", alt);
    base64_file(d->hmd, abs);
    fprintf(d->hmd, ")\n\n");
}

const char *fnum(char *buf, size_t n, double v, int prec)
{
    if (!isfinite(v)) snprintf(buf, n, "-");
    else snprintf(buf, n, "%.*f", prec, v);
    return buf;
}
