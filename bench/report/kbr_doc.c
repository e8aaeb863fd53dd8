/* kbr_doc.c - see kbr_doc.h. */
#include "bench/report/kbr_doc.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void html_esc(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '<') fputs("&lt;", f);
        else if (*s == '>') fputs("&gt;", f);
        else if (*s == '&') fputs("&amp;", f);
        else fputc(*s, f);
    }
}

static void md_esc(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '|') fputs("\\|", f);
        else if (*s == '\n') fputc(' ', f);
        else fputc(*s, f);
    }
}

int doc_open(doc *d, const char *md_path, const char *html_path, const char *title, char *err, size_t errlen)
{
    memset(d, 0, sizeof *d);
    if (kb_afile_open(&d->md_file, md_path) || kb_afile_open(&d->html_file, html_path)) {
        snprintf(err, errlen, "%s: cannot write: %s", d->md_file.f ? html_path : md_path, strerror(errno));
        doc_abort(d);
        return -1;
    }
    d->md = d->md_file.f;
    d->html = d->html_file.f;
    fprintf(d->html, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>%s</title>\n"
                     "<style>body{font-family:sans-serif;max-width:1400px;margin:2em auto;padding:0 1em}"
                     "table{border-collapse:collapse;margin:1em 0;font-size:90%%}"
                     "td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}th{background:#eee}"
                     "img{max-width:100%%}figure{margin:1em 0}</style></head><body>\n", title);
    return 0;
}

void doc_abort(doc *d)
{
    kb_afile_abort(&d->md_file);
    kb_afile_abort(&d->html_file);
    d->md = d->html = NULL;
}

static void end_list(doc *d)
{
    if (!d->in_list) return;
    fputs("</ul>\n", d->html);
    fputs("\n", d->md);
    d->in_list = 0;
}

int doc_commit(doc *d, char *err, size_t errlen)
{
    end_list(d);
    fputs("</body></html>\n", d->html);
    const char *bad = kb_afile_commit(&d->md_file) ? "report" : kb_afile_commit(&d->html_file) ? "HTML" : NULL;
    if (bad) snprintf(err, errlen, "cannot finish the %s: %s", bad, strerror(errno));
    doc_abort(d); /* removes what is left of the temporaries */
    return bad ? -1 : 0;
}

/* One block of text: Markdown md_pre TEXT md_post, HTML <tag>TEXT</tag>. */
static void put_text(doc *d, const char *md_pre, const char *md_post, const char *tag, const char *text)
{
    fprintf(d->md, "%s%s%s", md_pre, text, md_post);
    fprintf(d->html, "<%s>", tag);
    html_esc(d->html, text);
    fprintf(d->html, "</%s>\n", tag);
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
    char pre[16], tag[4];
    DOC_FORMAT(buf, fmt);
    end_list(d);
    snprintf(pre, sizeof pre, "%.*s ", level, "######");
    snprintf(tag, sizeof tag, "h%d", level);
    put_text(d, pre, "\n\n", tag, buf ? buf : "");
    free(buf);
}

void doc_p(doc *d, const char *fmt, ...)
{
    DOC_FORMAT(buf, fmt);
    end_list(d);
    put_text(d, "", "\n\n", "p", buf ? buf : "");
    free(buf);
}

void doc_li(doc *d, const char *fmt, ...)
{
    DOC_FORMAT(buf, fmt);
    if (!d->in_list) { fputs("<ul>\n", d->html); d->in_list = 1; }
    put_text(d, "- ", "\n", "li", buf ? buf : "");
    free(buf);
}

/* One table line in both languages; cell = "th" or "td". */
static void put_cells(doc *d, int nc, const char *const *cells, const char *cell)
{
    fputs("|", d->md);
    for (int i = 0; i < nc; i++) { fputc(' ', d->md); md_esc(d->md, cells[i]); fputs(" |", d->md); }
    fputs("\n", d->md);
    fputs("<tr>", d->html);
    for (int i = 0; i < nc; i++) {
        fprintf(d->html, "<%s>", cell);
        html_esc(d->html, cells[i]);
        fprintf(d->html, "</%s>", cell);
    }
    fputs("</tr>\n", d->html);
}

void doc_table(doc *d, int nc, const char *const *hdr)
{
    end_list(d);
    fputs("<table>\n", d->html);
    put_cells(d, nc, hdr, "th");
    fputs("|", d->md);
    for (int i = 0; i < nc; i++) fputs("---|", d->md);
    fputs("\n", d->md);
}

void doc_row(doc *d, int nc, const char *const *cells) { put_cells(d, nc, cells, "td"); }

void doc_table_end(doc *d)
{
    fputs("\n", d->md);
    fputs("</table>\n", d->html);
}

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

void doc_img(doc *d, const char *alt, const char *rel, const char *abs)
{
    end_list(d);
    fprintf(d->md, "![%s](%s)\n\n", alt, rel);
    fprintf(d->html, "<figure><img alt=\"");
    html_esc(d->html, alt);
    fprintf(d->html, "\" src=\"data:image/png;base64,");
    base64_file(d->html, abs);
    fprintf(d->html, "\"><figcaption>");
    html_esc(d->html, alt);
    fprintf(d->html, "</figcaption></figure>\n");
}

const char *fnum(char *buf, size_t n, double v, int prec)
{
    if (!isfinite(v)) snprintf(buf, n, "-");
    else snprintf(buf, n, "%.*f", prec, v);
    return buf;
}
