/* `kbench model`: a row for every op x shape x GPU (two for link ops), all
 * projected; H800 and H100 identical where compute or HBM bound, H800 slower
 * where the link bounds; values equal the roofline of the op's formulas. */
#include <csv.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "bench/kb_roofline.h"
#include "bench/kb_run.h"
#include "kbtest.h"

#define MAXR 20000
#define NCOL 40
typedef struct tab {
    char *cell[MAXR][NCOL];
    int nrows, col;
} tab;
static tab T;

static void on_field(void *s, size_t len, void *u)
{
    tab *t = u;
    if (t->nrows < MAXR && t->col < NCOL) {
        char *c = malloc(len + 1);
        memcpy(c, s, len);
        c[len] = 0;
        t->cell[t->nrows][t->col] = c;
    }
    t->col++;
}
static void on_row(int ch, void *u)
{
    tab *t = u;
    t->nrows++;
    t->col = 0;
}

static int col(const char *name)
{
    for (int i = 0; i < NCOL && T.cell[0][i]; i++)
        if (!strcmp(T.cell[0][i], name)) return i;
    return -1;
}

static const char *at(int r, const char *name) { return T.cell[r][col(name)]; }

static void load(const char *path)
{
    struct csv_parser p;
    csv_init(&p, CSV_APPEND_NULL);
    FILE *f = fopen(path, "r");
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) csv_parse(&p, buf, n, on_field, on_row, &T);
    csv_fini(&p, on_field, on_row, &T);
    csv_free(&p);
    fclose(f);
}

/* expected row count from the registry: two GPUs, two rows (nominal and
 * practical link) for a shape that crosses a link */
static int expected_rows(unsigned sets)
{
    int nops, want = 0;
    const kb_op *const *ops = kb_ops(&nops);
    for (int i = 0; i < nops; i++) {
        int ns;
        const kb_shape *s = ops[i]->shapes(&ns);
        for (int k = 0; k < ns; k++) {
            if (!(s[k].sets & sets)) continue;
            int link = ops[i]->link_bytes && ops[i]->link_bytes(&s[k]) > 0;
            want += 2 * (link ? 2 : 1);
        }
    }
    return want;
}

/* The H800 row of the same op, impl, shape and dtype as H100 row r; -1 if none. */
static int h800_twin(int r)
{
    for (int q = 1; q < T.nrows; q++)
        if (!strcmp(at(q, "gpu"), "h800-sxm") && !strcmp(at(q, "op"), at(r, "op")) &&
            !strcmp(at(q, "impl"), at(r, "impl")) && !strcmp(at(q, "shape"), at(r, "shape")) &&
            !strcmp(at(q, "dtype"), at(r, "dtype")))
            return q;
    return -1;
}

/* H100 row r equals the roofline of the op's own formulas; returns how many
 * shapes were checked (1). */
static int check_formulas(int r)
{
    int checked = 0, ns;
    const kb_op *op = kb_find_op(at(r, "op"));
    const kb_shape *s = op->shapes(&ns);
    for (int k = 0; k < ns; k++) {
        if (strcmp(s[k].label, at(r, "shape")) || strcmp(s[k].dtype, at(r, "dtype"))) continue;
        kb_ceil c = kb_ceil_from_gpu(kb_gpu_find("h100-sxm"), strstr(at(r, "impl"), "practical") != NULL);
        kb_peak pk = kb_shape_peak(op, &s[k]);
        /* the network term's latency part: one message per peer (ranks - 1 of the dims column) */
        kb_roof rf = kb_roofline_msgs(op->flops(&s[k]), op->bytes(&s[k]), op->link_bytes ? op->link_bytes(&s[k]) : 0,
                                      kb_link_messages(at(r, "dims")), kb_ceil_peak(&c, pk), c.hbm_gbs, c.link_gbs);
        KBT_NEAR(atof(at(r, "time_us")), rf.t_floor_s * 1e6, 1e-5);
        KBT_STREQ(at(r, "bound"), kb_bound_name(rf.bound));
        checked++;
    }
    return checked;
}

int main(void)
{
    char path[] = "/tmp/kb_model_XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    unsigned sets = KB_SET_FULL | KB_SET_QUICK | KB_SET_SMALL;
    KBT_CHECK(kb_model("h100-sxm,h800-sxm", NULL, sets, path) == KB_EXIT_OK);
    KBT_CHECK(kb_model("h100-sxm,nope", NULL, sets, path) == KB_EXIT_USAGE);
    KBT_CHECK(kb_model("h100-sxm,h800-sxm", NULL, sets, path) == KB_EXIT_OK);
    load(path);
    unlink(path);
    int want = expected_rows(sets);
    KBT_CHECK(T.nrows - 1 == want);
    KBT_CHECK(col("time_us") >= 0 && col("gpu") >= 0 && col("source") >= 0 && col("bound") >= 0);

    int checked = 0, moved = 0, latency = 0;
    for (int r = 1; r < T.nrows; r++) {
        KBT_STREQ(at(r, "source"), "projected");
        if (strcmp(at(r, "gpu"), "h100-sxm")) continue;
        int tw = h800_twin(r);
        KBT_CHECK(tw > 0);
        if (tw < 0) continue;
        double t100 = atof(at(r, "time_us")), t800 = atof(at(tw, "time_us"));
        KBT_CHECK(t100 > 0);
        /* the network term's latency part, the same on both GPUs (kb_roofline.h) */
        double lat = KB_LINK_ALPHA_LAUNCH_US + kb_link_messages(at(r, "dims")) * KB_LINK_ALPHA_PEER_US;
        if (!strcmp(at(r, "bound"), "network") && fabs(t100 - lat) < 1e-9 && fabs(t800 - lat) < 1e-9) {
            KBT_NEAR(t800, t100, 1e-12); /* latency-bound on both: the link rate does not matter */
            KBT_CHECK(strstr(at(r, "note"), "latency-bound: 3.6 us + 0.47 us per peer") != NULL);
            latency++;
        } else if (!strcmp(at(r, "bound"), "network") || !strcmp(at(tw, "bound"), "network")) {
            KBT_CHECK(t800 > t100); /* 200 vs 450 GB/s nominal, 160 vs 370 practical */
            moved++;
        } else {
            KBT_NEAR(t800, t100, 1e-6);
        }
        checked += check_formulas(r);
    }
    KBT_CHECK(checked * 2 == want);
    KBT_CHECK(latency > 0); /* the small all-to-all shapes */
    printf("model rows: %d, H100/H800 pairs checked: %d, link-bound pairs where H800 is slower: %d,"
           " latency-bound pairs: %d\n", want, checked, moved, latency);
    /* a hand-checked row: peak fp8_8192 on H100 = 2 x 8192^3 / 1979e12 s = 555.5895 us */
    for (int r = 1; r < T.nrows; r++)
        if (!strcmp(at(r, "op"), "peak") && !strcmp(at(r, "shape"), "fp8_8192") && !strcmp(at(r, "gpu"), "h100-sxm"))
            KBT_NEAR(atof(at(r, "time_us")), 555.5895, 1e-6);
    return kbt_done("test_model");
}
