/* A QEMU TCG plugin (plugin API 1, QEMU 7.2) that counts how often each
 * translation block of a system guest runs, and its memory accesses, for
 * profile.sh beside it.
 *
 * Each block is keyed by its guest address and instruction count, and
 * carries static counts of its lock-prefixed (or implicitly locked xchg)
 * instructions, its syscall instructions and its rdtsc/rdtscp; an inline
 * add (no callback, so the guest slows little) counts its executions, and
 * another on each of its instructions counts the guest memory accesses
 * they make (loads and stores alike: under TCG each is a software TLB
 * lookup, so they may cost what the instructions do not).
 * When a file PATH.N appears (PATH from the argument snap=PATH, polled
 * every 20 ms), the counts so far go to PATH.out.N, one block a line:
 * "vaddr insns executions locked syscalls rdtsc memops". The difference of two
 * snapshots is the profile of what ran between them. Counts of blocks
 * running on both vCPUs at once can lose an increment (inline adds are
 * not atomic): a profile, not an exact census.
 *
 * The API's few declarations are written out here (the plugin header is
 * not installed with Debian's QEMU); their meaning is QEMU's
 * include/qemu/qemu-plugin.h. */
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <unistd.h>

typedef uint64_t qemu_plugin_id_t;
__attribute__((visibility("default"))) int qemu_plugin_version = 1;
typedef struct qemu_info_t qemu_info_t;
struct qemu_plugin_tb; struct qemu_plugin_insn;
typedef void (*tb_trans_cb)(qemu_plugin_id_t, struct qemu_plugin_tb *);
void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t, tb_trans_cb);
void qemu_plugin_register_vcpu_tb_exec_inline(struct qemu_plugin_tb *, int op, void *ptr, uint64_t imm);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *);
uint64_t qemu_plugin_tb_vaddr(const struct qemu_plugin_tb *);
struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *, size_t);
const void *qemu_plugin_insn_data(const struct qemu_plugin_insn *);
size_t qemu_plugin_insn_size(const struct qemu_plugin_insn *);
/* rw 3 = QEMU_PLUGIN_MEM_RW, op 0 = QEMU_PLUGIN_INLINE_ADD_U64. */
void qemu_plugin_register_vcpu_mem_inline(struct qemu_plugin_insn *, int rw, int op, void *ptr, uint64_t imm);

struct rec { uint64_t vaddr; uint64_t count, mem; uint32_t n, nlock, nsys, nrdtsc; struct rec *next; };
#define NB (1u << 20)
static struct rec **tab;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static const char *snap;

static void classify(const uint8_t *b, size_t len, uint32_t *lk, uint32_t *sy, uint32_t *ts) {
  size_t i = 0; bool locked = false;
  while (i < len) {
    uint8_t c = b[i];
    if (c == 0xf0) { locked = true; i++; continue; }
    if (c == 0xf2 || c == 0xf3 || c == 0x2e || c == 0x36 || c == 0x3e || c == 0x26 ||
        c == 0x64 || c == 0x65 || c == 0x66 || c == 0x67) { i++; continue; }
    break;
  }
  if (i < len && (b[i] & 0xf0) == 0x40) i++; /* REX */
  if (i < len) {
    uint8_t op = b[i];
    if ((op == 0x86 || op == 0x87) && i + 1 < len && (b[i + 1] >> 6) != 3) locked = true;
    if (op == 0x0f && i + 1 < len) {
      if (b[i + 1] == 0x05) (*sy)++;
      if (b[i + 1] == 0x31) (*ts)++;
      if (b[i + 1] == 0x01 && i + 2 < len && b[i + 2] == 0xf9) (*ts)++;
    }
  }
  if (locked) (*lk)++;
}

static void trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb) {
  uint64_t va = qemu_plugin_tb_vaddr(tb);
  uint32_t n = qemu_plugin_tb_n_insns(tb), lk = 0, sy = 0, ts = 0;
  for (uint32_t k = 0; k < n; k++) {
    struct qemu_plugin_insn *in = qemu_plugin_tb_get_insn(tb, k);
    classify(qemu_plugin_insn_data(in), qemu_plugin_insn_size(in), &lk, &sy, &ts);
  }
  uint64_t h = (va * 0x9E3779B97F4A7C15ull + n) >> 44;
  pthread_mutex_lock(&lock);
  struct rec *r;
  for (r = tab[h]; r; r = r->next) if (r->vaddr == va && r->n == n && r->nlock == lk && r->nsys == sy) break;
  if (!r) {
    r = calloc(1, sizeof *r);
    r->vaddr = va; r->n = n; r->nlock = lk; r->nsys = sy; r->nrdtsc = ts;
    r->next = tab[h]; tab[h] = r;
  }
  pthread_mutex_unlock(&lock);
  qemu_plugin_register_vcpu_tb_exec_inline(tb, 0, &r->count, 1);
  for (uint32_t k = 0; k < n; k++)
    qemu_plugin_register_vcpu_mem_inline(qemu_plugin_tb_get_insn(tb, k), 3, 0, &r->mem, 1);
}

static void dump(int k) {
  char p[4096]; snprintf(p, sizeof p, "%s.out.%d", snap, k);
  FILE *f = fopen(p, "w"); if (!f) return;
  pthread_mutex_lock(&lock);
  for (uint32_t h = 0; h < NB; h++)
    for (struct rec *r = tab[h]; r; r = r->next)
      if (r->count) fprintf(f, "%" PRIx64 " %u %" PRIu64 " %u %u %u %" PRIu64 "\n", r->vaddr, r->n, r->count, r->nlock, r->nsys, r->nrdtsc, r->mem);
  pthread_mutex_unlock(&lock);
  fclose(f);
}

static void *watch(void *arg) {
  int k = 0;
  for (;;) {
    char p[4096]; snprintf(p, sizeof p, "%s.%d", snap, k);
    if (access(p, F_OK) == 0) { dump(k); k++; }
    usleep(20000);
  }
  return NULL;
}

__attribute__((visibility("default")))
int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc, char **argv) {
  for (int i = 0; i < argc; i++) if (!strncmp(argv[i], "snap=", 5)) snap = argv[i] + 5;
  if (!snap) return 1;
  tab = calloc(NB, sizeof *tab);
  pthread_t t; pthread_create(&t, NULL, watch, NULL);
  qemu_plugin_register_vcpu_tb_trans_cb(id, trans);
  return 0;
}
