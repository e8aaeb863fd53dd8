/* kbr_doc.h - the report's document: Markdown, and its HTML rendered from
 * the same Markdown by md4c (images embedded), each through a temporary file renamed into place only when the whole
 * document was written (doc_commit): an interrupted or failing report leaves
 * the previous report.md / report.html as they were. */
#ifndef KBR_DOC_H
#define KBR_DOC_H
#include <stddef.h>
#include "bench/kb_io.h"

typedef struct doc {
    kb_afile md_file, html_file;
    FILE *md, *html;
    FILE *hmd; /* the Markdown md4c renders: md with images as data URIs */
    char *hbuf;
    size_t hlen;
    const char *title;
    int in_list;
} doc;

/* Open both temporaries and the in-memory Markdown.  0, or -1 with err set. */
int doc_open(doc *d, const char *md_path, const char *html_path, const char *title, char *err, size_t errlen);
/* Render the HTML, then rename both into place.  0, or -1 with err set (the
 * temporaries are removed). */
int doc_commit(doc *d, char *err, size_t errlen);
void doc_abort(doc *d);

void doc_h(doc *d, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void doc_p(doc *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void doc_li(doc *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void doc_table(doc *d, int nc, const char *const *hdr);
void doc_row(doc *d, int nc, const char *const *cells);
void doc_table_end(doc *d);
/* An image: linked by `rel` in Markdown, embedded from `abs` in HTML. */
void doc_img(doc *d, const char *alt, const char *rel, const char *abs);

/* v with prec decimals, "-" when not finite. */
const char *fnum(char *buf, size_t n, double v, int prec);
#endif
