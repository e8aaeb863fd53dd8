/* Every output file goes through kb_afile (bench/kb_io.h): whole or nothing,
 * never half of two writers, never a device or FIFO replaced by a regular
 * file, symbolic links followed; and nothing is cut silently (kb_row_set
 * refuses text wider than its column, notes end in "...").  Links the report
 * library only (no CUDA). */
#define _XOPEN_SOURCE 700 /* mknod, S_IFCHR */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#include "bench/kb_row.h"
#include "kbtest.h"

enum { BIG = 256 * 1024 };

/* BIG copies of the character id, through kb_write_atomic. */
static int put_id(FILE *f, void *arg)
{
    int id = *(int *)arg;
    for (int i = 0; i < BIG; i++) fputc('a' + id, f);
    return ferror(f) ? -1 : 0;
}

/* One writer's whole text, or -1 (missing, mixed, short). */
static int whole_id(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    int first = fgetc(f), n = first == EOF ? 0 : 1, c, mixed = 0;
    while ((c = fgetc(f)) != EOF) n++, mixed |= c != first;
    fclose(f);
    return mixed || n != BIG ? -1 : first - 'a';
}

/* How many entries the folder has (. and .. not counted). */
static int entries(const char *dir)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "exit $(ls -A '%s' | wc -l)", dir);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Ten processes write the same file at once: every one succeeds and the
 * file is one of them, complete (a fixed PATH.partial mixes them). */
static void check_concurrent(const char *dir)
{
    char path[256], err[512];
    snprintf(path, sizeof path, "%s/same.txt", dir);
    pid_t pids[10];
    for (int k = 0; k < 10; k++)
        if ((pids[k] = fork()) == 0) _exit(kb_write_atomic(path, put_id, &k, err, sizeof err) ? 1 : 0);
    int all_ok = 1;
    for (int k = 0; k < 10; k++) {
        int st = 0;
        waitpid(pids[k], &st, 0);
        all_ok &= WIFEXITED(st) && WEXITSTATUS(st) == 0;
    }
    KBT_CHECK(all_ok);
    int id = whole_id(path);
    KBT_CHECK(id >= 0 && id < 10);
    KBT_CHECK(entries(dir) == 1); /* no temporary left behind */
}

/* A symbolic link is followed: the target gets the text, the link stays. */
static void check_symlink(const char *dir)
{
    char link[256], target[256], err[512];
    snprintf(link, sizeof link, "%s/link.txt", dir);
    snprintf(target, sizeof target, "%s/sub/target.txt", dir);
    KBT_CHECK(kb_mkdirs_for(target) == 0 && symlink("sub/target.txt", link) == 0); /* dangling first */
    for (int id = 3; id <= 4; id++) {
        KBT_CHECK(kb_write_atomic(link, put_id, &id, err, sizeof err) == 0);
        struct stat st;
        KBT_CHECK(lstat(link, &st) == 0 && S_ISLNK(st.st_mode));
        KBT_CHECK(whole_id(target) == id);
    }
}

/* A FIFO (and, as root, a character device) is written through, not replaced. */
static void check_special(const char *dir)
{
    char fifo[256], dev[256], err[512];
    snprintf(fifo, sizeof fifo, "%s/pipe", dir);
    KBT_CHECK(mkfifo(fifo, 0600) == 0);
    pid_t reader = fork();
    if (reader == 0) _exit(whole_id(fifo) == 5 ? 0 : 1);
    int id = 5, st = 0;
    KBT_CHECK(kb_write_atomic(fifo, put_id, &id, err, sizeof err) == 0);
    waitpid(reader, &st, 0);
    KBT_CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    struct stat sb;
    KBT_CHECK(lstat(fifo, &sb) == 0 && S_ISFIFO(sb.st_mode));
    snprintf(dev, sizeof dev, "%s/null", dir);
    if (mknod(dev, S_IFCHR | 0666, makedev(1, 3))) {
        printf("note: mknod %s: %s: the device-node check is skipped (needs root)\n", dev, strerror(errno));
        return;
    }
    KBT_CHECK(kb_write_atomic(dev, put_id, &id, err, sizeof err) == 0);
    KBT_CHECK(lstat(dev, &sb) == 0 && S_ISCHR(sb.st_mode) && sb.st_rdev == makedev(1, 3));
    /* a folder is neither replaced nor written */
    KBT_CHECK(kb_write_atomic(dir, put_id, &id, err, sizeof err) == -1 && strstr(err, "cannot write"));
}

/* The model's CSV (not durable) keeps no PATH.partial; the run's does. */
static void check_csv_modes(const char *dir)
{
    char path[256], part[300];
    snprintf(path, sizeof path, "%s/m.csv", dir);
    snprintf(part, sizeof part, "%s.partial", path);
    kb_csv c;
    KBT_CHECK(kb_csv_open(&c, path, 0) == 0);
    KBT_CHECK(access(part, F_OK) != 0 && entries(dir) == 1); /* a hidden unique temporary */
    KBT_CHECK(kb_csv_close(&c) == 0 && access(path, F_OK) == 0 && entries(dir) == 1);
    KBT_CHECK(kb_csv_open(&c, path, 1) == 0 && access(part, F_OK) == 0);
    KBT_CHECK(kb_csv_close(&c) == 0 && access(part, F_OK) != 0);
}

/* Nothing is cut silently: keys wider than their column are refused,
 * notes that are cut end in "...", long paths are allocated. */
static void check_no_cut(void)
{
    const kb_col *shape = kb_col_find("shape");
    kb_row r;
    kb_row_init(&r);
    char text[512];
    memset(text, 'x', sizeof text);
    text[shape->size - 1] = 0; /* exactly fits */
    KBT_CHECK(kb_row_set(shape, &r, text) == 0 && strlen(r.shape) == shape->size - 1);
    text[shape->size - 1] = 'y';
    text[shape->size] = 0; /* one too many */
    KBT_CHECK(kb_row_set(shape, &r, text) == KB_ROW_SET_TOO_LONG);
    char note[8];
    kb_row_note(note, sizeof note, "1234567");
    KBT_STREQ(note, "1234567");
    kb_row_note(note, sizeof note, "12345678");
    KBT_STREQ(note, "1234...");
    char *s = kb_strdupf("%s/%0900d", "dir", 7);
    KBT_CHECK(s && strlen(s) == 904);
    free(s);
}

int main(void)
{
    char dir[] = "/tmp/kbrowio.XXXXXX";
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    char d1[64], d2[64], d3[64], d4[64];
    snprintf(d1, sizeof d1, "%s/a", dir);
    snprintf(d2, sizeof d2, "%s/b", dir);
    snprintf(d3, sizeof d3, "%s/c", dir);
    snprintf(d4, sizeof d4, "%s/d", dir);
    KBT_CHECK(kb_mkdirs(d1) == 0 && kb_mkdirs(d2) == 0 && kb_mkdirs(d3) == 0 && kb_mkdirs(d4) == 0);
    check_concurrent(d1);
    check_symlink(d2);
    check_special(d3);
    check_csv_modes(d4);
    check_no_cut();
    char rm[128];
    snprintf(rm, sizeof rm, "rm -rf '%s'", dir);
    if (system(rm) != 0) printf("warning: could not remove %s\n", dir);
    return kbt_done("test_row_io");
}
