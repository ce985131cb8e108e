/* gzip inflated in a thread of its own that never takes the GIL (compiled part of inflate.py).
 *
 * A Reader reads a local file with pread(2) from its own copy of the descriptor, inflates it
 * with ISA-L and cuts the content into chunks exactly as inflate.py's _fixed(_inflate(...))
 * does: the same calls into ISA-L with the same input blocks (`block` bytes at a time, the
 * 2 bytes of magic first) and the same output limits (up to the next multiple of `size`), so
 * the chunks, the compressed bytes counted for each (n_comp) and the error positions are
 * those of the Python path. The thread writes inflated bytes straight into a ring of chunk
 * buffers, bytes objects the Python side made ahead (never one made in the thread);
 * Reader.__next__ (the GIL released while it waits) hands them over as (bytes, n_comp, pad)
 * and puts new ones in their place. The thread touches no Python object: errors are kept
 * as plain values and raised by the consumer (inflate.py turns them into the FormatError of
 * the Python path).
 *
 * ISA-L is the copy linked into python-isal's isal/igzip_lib*.so (no header ships with it):
 * bind() resolves isal_inflate_init and isal_inflate there with dlopen/dlsym and checks the
 * vendored struct layout on a small gzip stream. inflate.py calls bind() only for an ISA-L
 * version whose header is vendored below.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---- Vendored from ISA-L v2.32.1, include/igzip_lib.h (the inflate part only) ----------
  Copyright(c) 2011-2016 Intel Corporation All rights reserved.

  Redistribution and use in source and binary forms, with or without
  modification, are permitted provided that the following conditions
  are met:
    * Redistributions of source code must retain the above copyright
      notice, this list of conditions and the following disclaimer.
    * Redistributions in binary form must reproduce the above copyright
      notice, this list of conditions and the following disclaimer in
      the documentation and/or other materials provided with the
      distribution.
    * Neither the name of Intel Corporation nor the names of its
      contributors may be used to endorse or promote products derived
      from this software without specific prior written permission.

  THIS SOFTWARE IS PROVIDED BY THE COPYRIGHT HOLDERS AND CONTRIBUTORS
  "AS IS" AND ANY EXPRESS OR IMPLIED WARRANTIES, INCLUDING, BUT NOT
  LIMITED TO, THE IMPLIED WARRANTIES OF MERCHANTABILITY AND FITNESS FOR
  A PARTICULAR PURPOSE ARE DISCLAIMED. IN NO EVENT SHALL THE COPYRIGHT
  OWNER OR CONTRIBUTORS BE LIABLE FOR ANY DIRECT, INDIRECT, INCIDENTAL,
  SPECIAL, EXEMPLARY, OR CONSEQUENTIAL DAMAGES (INCLUDING, BUT NOT
  LIMITED TO, PROCUREMENT OF SUBSTITUTE GOODS OR SERVICES; LOSS OF USE,
  DATA, OR PROFITS; OR BUSINESS INTERRUPTION) HOWEVER CAUSED AND ON ANY
  THEORY OF LIABILITY, WHETHER IN CONTRACT, STRICT LIABILITY, OR TORT
  (INCLUDING NEGLIGENCE OR OTHERWISE) ARISING IN ANY WAY OUT OF THE USE
  OF THIS SOFTWARE, EVEN IF ADVISED OF THE POSSIBILITY OF SUCH DAMAGE.
*/
#define IGZIP_K 1024
#define ISAL_DEF_MAX_HDR_SIZE 328
#define ISAL_DEF_HIST_SIZE (32 * IGZIP_K)
#define ISAL_DEF_MAX_HIST_BITS 15
#define ISAL_DEF_MAX_MATCH 258
#define ISAL_DEF_LIT_SYMBOLS 257
#define ISAL_DEF_LEN_SYMBOLS 29
#define ISAL_DEF_DIST_SYMBOLS 30
#define ISAL_DEF_LIT_LEN_SYMBOLS (ISAL_DEF_LIT_SYMBOLS + ISAL_DEF_LEN_SYMBOLS)
#define ISAL_LOOK_AHEAD ((ISAL_DEF_MAX_MATCH + 31) & ~31)
#define ISAL_DECODE_LONG_BITS 12
#define ISAL_DECODE_SHORT_BITS 10

enum isal_block_state {
    ISAL_BLOCK_NEW_HDR,
    ISAL_BLOCK_HDR,
    ISAL_BLOCK_TYPE0,
    ISAL_BLOCK_CODED,
    ISAL_BLOCK_INPUT_DONE,
    ISAL_BLOCK_FINISH,
    ISAL_GZIP_EXTRA_LEN,
    ISAL_GZIP_EXTRA,
    ISAL_GZIP_NAME,
    ISAL_GZIP_COMMENT,
    ISAL_GZIP_HCRC,
    ISAL_ZLIB_DICT,
    ISAL_CHECKSUM_CHECK,
};

#define ISAL_GZIP 1

#define ISAL_DECOMP_OK 0
#define ISAL_END_INPUT 1
#define ISAL_OUT_OVERFLOW 2
#define ISAL_NAME_OVERFLOW 3
#define ISAL_COMMENT_OVERFLOW 4
#define ISAL_EXTRA_OVERFLOW 5
#define ISAL_NEED_DICT 6
#define ISAL_INVALID_BLOCK -1
#define ISAL_INVALID_SYMBOL -2
#define ISAL_INVALID_LOOKBACK -3
#define ISAL_INVALID_WRAPPER -4
#define ISAL_UNSUPPORTED_METHOD -5
#define ISAL_INCORRECT_CHECKSUM -6

#define ISAL_L_REM (21 - ISAL_DECODE_LONG_BITS)
#define ISAL_S_REM (15 - ISAL_DECODE_SHORT_BITS)
#define ISAL_L_DUP ((1 << ISAL_L_REM) - (ISAL_L_REM + 1))
#define ISAL_S_DUP ((1 << ISAL_S_REM) - (ISAL_S_REM + 1))
#define ISAL_L_UNUSED                                                                          \
    ((1 << ISAL_L_REM) - (1 << ((ISAL_L_REM) / 2)) - (1 << ((ISAL_L_REM + 1) / 2)) + 1)
#define ISAL_S_UNUSED                                                                          \
    ((1 << ISAL_S_REM) - (1 << ((ISAL_S_REM) / 2)) - (1 << ((ISAL_S_REM + 1) / 2)) + 1)
#define ISAL_L_SIZE (ISAL_DEF_LIT_LEN_SYMBOLS + ISAL_L_DUP + ISAL_L_UNUSED)
#define ISAL_S_SIZE (ISAL_DEF_DIST_SYMBOLS + ISAL_S_DUP + ISAL_S_UNUSED)
#define ISAL_HUFF_CODE_LARGE_LONG_ALIGNED (ISAL_L_SIZE + (-ISAL_L_SIZE & 0xf))
#define ISAL_HUFF_CODE_SMALL_LONG_ALIGNED (ISAL_S_SIZE + (-ISAL_S_SIZE & 0xf))

struct inflate_huff_code_large {
    uint32_t short_code_lookup[1 << (ISAL_DECODE_LONG_BITS)];
    uint16_t long_code_lookup[ISAL_HUFF_CODE_LARGE_LONG_ALIGNED];
};

struct inflate_huff_code_small {
    uint16_t short_code_lookup[1 << (ISAL_DECODE_SHORT_BITS)];
    uint16_t long_code_lookup[ISAL_HUFF_CODE_SMALL_LONG_ALIGNED];
};

struct inflate_state {
    uint8_t *next_out;
    uint32_t avail_out;
    uint32_t total_out;
    uint8_t *next_in;
    uint64_t read_in;
    uint32_t avail_in;
    int32_t read_in_length;
    struct inflate_huff_code_large lit_huff_code;
    struct inflate_huff_code_small dist_huff_code;
    enum isal_block_state block_state;
    uint32_t dict_length;
    uint32_t bfinal;
    uint32_t crc_flag;
    uint32_t crc;
    uint32_t hist_bits;
    union {
        int32_t type0_block_len;
        int32_t count;
        uint32_t dict_id;
    };
    int32_t write_overflow_lits;
    int32_t write_overflow_len;
    int32_t copy_overflow_length;
    int32_t copy_overflow_distance;
    int16_t wrapper_flag;
    int16_t tmp_in_size;
    int32_t tmp_out_valid;
    int32_t tmp_out_processed;
    uint8_t tmp_in_buffer[ISAL_DEF_MAX_HDR_SIZE];
    uint8_t tmp_out_buffer[2 * ISAL_DEF_HIST_SIZE + ISAL_LOOK_AHEAD];
};
/* ---- End of the part vendored from ISA-L ------------------------------------------------ */

#define SPARE 64 /* bytes a member's unused data may hold beyond a block (its bit buffer) */
#define MAX_SIZE (16 << 20) /* python-isal's first output buffer: one call per decompress() */

static void (*isal_inflate_init_fn)(struct inflate_state *);
static int (*isal_inflate_fn)(struct inflate_state *);

/* How a read ended (Reader.kind). */
enum { K_RUNNING, K_END, K_TRUNCATED, K_ISAL, K_GARBAGE, K_OS, K_NOMEM, K_INTERNAL };

typedef struct {
    PyObject *data; /* a bytes object the Python side made (the thread writes its content) */
    uint8_t *buf;   /* its content */
    Py_ssize_t len;
    long long n_comp;
    int pad;
} Slot;

typedef struct {
    PyObject_HEAD
    int fd;             /* our own dup: closing the file object cannot pull it away */
    long long offset;   /* where the next pread reads */
    Py_ssize_t size;    /* chunk size */
    Py_ssize_t block;   /* compressed bytes read at a time (inflate.RAW_BLOCK) */
    Py_ssize_t alloc;   /* bytes of a chunk buffer: the last chunk is padded up to 64 */
    int cap, first, count; /* ring of chunks made, not taken yet (under mu) */
    int next;              /* the slot being filled (the inflating thread's own) */
    Slot *slots;
    int is_started, is_stopping, is_done;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t filled, freed;
    /* the inflating thread's own state */
    struct inflate_state *st;
    uint8_t *in, *spare[2]; /* a block read; where a next member's first bytes are copied */
    uint8_t head[2];
    int n_head;
    long long n_out, n_in, n_comp; /* content out, compressed in, compressed for the chunk */
    Py_ssize_t n_have;             /* bytes in the chunk being made (n_out % size) */
    uint8_t saved[8];              /* python-isal's saved bit buffer (see unused) */
    int n_saved;
    double t_start, t_end, cpu; /* the thread's run (CLOCK_MONOTONIC) and CPU, seconds */
    double t_full;              /* seconds it waited for a free slot (the ring full) */
    /* how it ended */
    int kind, code, err_no;
    long long e_n_in, e_n_out;
    uint8_t *e_block;
    Py_ssize_t e_len;
} Reader;

static PyObject *InflateError;

/* ---- The inflating thread ------------------------------------------------------------ */

static void member_start(Reader *r) {
    isal_inflate_init_fn(r->st); /* as IgzipDecompressor(flag=DECOMP_GZIP) */
    r->st->hist_bits = ISAL_DEF_MAX_HIST_BITS;
    r->st->crc_flag = ISAL_GZIP;
    r->n_saved = 0;
}

/* A block of the file (inflate.py: raw.read(RAW_BLOCK)): its length, 0 at the end, -1 on
 * error. */
static Py_ssize_t read_block(Reader *r) {
    ssize_t got;
    do {
        got = pread(r->fd, r->in, (size_t)r->block, (off_t)r->offset);
    } while (got < 0 && errno == EINTR);
    if (got < 0) {
        r->err_no = errno;
        return -1;
    }
    r->offset += got;
    return got;
}

/* The buffer the content goes to (NULL: stopping). */
static double seconds(clockid_t clock);

static uint8_t *chunk_buffer(Reader *r) {
    pthread_mutex_lock(&r->mu);
    if (r->count == r->cap && !r->is_stopping) {
        double since = seconds(CLOCK_MONOTONIC);
        while (r->count == r->cap && !r->is_stopping) pthread_cond_wait(&r->freed, &r->mu);
        r->t_full += seconds(CLOCK_MONOTONIC) - since;
    }
    int stopping = r->is_stopping;
    pthread_mutex_unlock(&r->mu);
    if (stopping) return NULL;
    return r->slots[r->next].buf; /* (replaced before count went down: see Reader_next) */
}

static void publish(Reader *r, Py_ssize_t len, int pad) {
    Slot *slot = &r->slots[r->next];
    slot->len = len;
    slot->n_comp = r->n_comp;
    slot->pad = pad;
    r->next = (r->next + 1) % r->cap;
    pthread_mutex_lock(&r->mu);
    r->count++;
    pthread_cond_signal(&r->filled);
    pthread_mutex_unlock(&r->mu);
    r->n_comp = 0;
    r->n_have = 0;
}

/* _fixed: `got` more bytes of content for `n` compressed bytes. */
static void emit(Reader *r, Py_ssize_t got, long long n) {
    r->n_comp += n;
    r->n_have += got;
    if (r->n_have == r->size) publish(r, r->size, 0);
}

static void keep_bits(struct inflate_state *st, uint8_t *to, int n) {
    uint64_t bits = st->read_in >> (st->read_in_length % 8);
    memcpy(to, &bits, (size_t)n); /* little-endian, as python-isal's bitbuffer_copy */
}

/* IgzipDecompressor.unused_data at the end of a member, copied to a spare buffer not holding
 * `start` (python-isal's bitbuffer_copy + copy_from_next_in). Its length, or -1. */
static Py_ssize_t unused(Reader *r, const uint8_t *start, uint8_t **to) {
    struct inflate_state *st = r->st;
    int n_bits = st->read_in_length / 8;
    Py_ssize_t n_in = st->avail_in, before = 0;
    uint8_t *out = r->spare[start >= r->spare[0] && start < r->spare[0] + r->block + SPARE];
    const uint8_t *from = st->next_in;
    if (n_bits + n_in == 0) return 0;
    if (n_bits > 8 || n_bits + n_in > r->block + SPARE) return -1; /* (never seen) */
    keep_bits(st, out, n_bits);
    if (from < start) {
        before = start - from;
        if (before > r->n_saved || before > n_in) return -1;
        memcpy(out + n_bits, r->saved + r->n_saved - before, (size_t)before);
        from = start;
    }
    memcpy(out + n_bits + before, from, (size_t)(n_in - before));
    *to = out;
    return n_bits + n_in;
}

/* _next_member: the first bytes of the next member in *rest (length returned; 0 at the end),
 * or -1 with r->kind set. */
static Py_ssize_t next_member(Reader *r, uint8_t **rest, Py_ssize_t n_rest) {
    for (int is_first = 1;; is_first = 0) {
        if (!(is_first && n_rest)) {
            if ((n_rest = read_block(r)) < 0) {
                r->kind = K_OS;
                return -1;
            }
            *rest = r->in;
        }
        if (n_rest == 0) return 0;
        Py_ssize_t i = 0;
        while (i < n_rest && (*rest)[i] == 0) i++;
        if (i < n_rest) break; /* not only zero padding */
    }
    if ((*rest)[0] != 0x1f || (n_rest > 1 && (*rest)[1] != 0x8b)) {
        r->e_n_out = r->n_out;
        r->kind = K_GARBAGE;
        return -1;
    }
    return n_rest;
}

static void fail_isal(Reader *r, int code, const uint8_t *block, Py_ssize_t n_block) {
    r->kind = K_ISAL;
    r->code = code;
    r->e_n_in = r->n_in;
    r->e_n_out = r->n_out;
    r->e_len = n_block;
    r->e_block = malloc(n_block ? (size_t)n_block : 1);
    if (r->e_block == NULL) r->kind = K_NOMEM;
    else if (n_block) memcpy(r->e_block, block, (size_t)n_block);
}

/* One decompress() call of _inflate's loop; 1: go on, 0: the end, -1: stopped or failed. */
static int step(Reader *r, uint8_t **pending, Py_ssize_t *n_pending, int *needs_input) {
    struct inflate_state *st = r->st;
    uint8_t *block = NULL, *out = chunk_buffer(r);
    Py_ssize_t n_block = 0;
    if (out == NULL) return -1;
    if (*needs_input) {
        if (*n_pending) {
            block = *pending, n_block = *n_pending;
            *n_pending = 0;
        } else if ((n_block = read_block(r)) < 0) {
            r->kind = K_OS;
            return -1;
        } else {
            block = r->in;
        }
        if (n_block == 0) {
            r->e_n_out = r->n_out;
            r->kind = K_TRUNCATED;
            return -1;
        }
        st->next_in = block;
        st->avail_in = (uint32_t)n_block;
    }
    const uint8_t *start = st->next_in;
    Py_ssize_t room = r->size - r->n_have;
    st->next_out = out + r->n_have;
    st->avail_out = (uint32_t)room;
    int code = isal_inflate_fn(st);
    if (code != ISAL_DECOMP_OK) {
        fail_isal(r, code, block, n_block);
        return -1;
    }
    Py_ssize_t got = room - st->avail_out;
    r->n_out += got;
    if (st->block_state != ISAL_BLOCK_FINISH) {
        r->n_in += n_block;
        emit(r, got, n_block);
        *needs_input = st->avail_in == 0 && st->avail_out != 0;
        r->n_saved = st->read_in_length / 8;
        if (r->n_saved > 8) r->n_saved = 8;
        keep_bits(st, r->saved, r->n_saved);
        return 1;
    }
    Py_ssize_t n_unused = unused(r, start, pending);
    if (n_unused < 0) {
        r->kind = K_INTERNAL;
        return -1;
    }
    r->n_in += n_block - n_unused;
    emit(r, got, n_block - n_unused);
    if ((*n_pending = next_member(r, pending, n_unused)) <= 0) return (int)*n_pending;
    member_start(r);
    *needs_input = 1;
    return 1;
}

static double seconds(clockid_t clock) {
    struct timespec t;
    clock_gettime(clock, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void *inflating(void *arg) {
    Reader *r = arg;
    r->t_start = seconds(CLOCK_MONOTONIC);
    pthread_setname_np(pthread_self(), "ratelens-gunzip");
    uint8_t *pending = r->head;
    Py_ssize_t n_pending = r->n_head;
    int needs_input = 1, going;
    member_start(r);
    while ((going = step(r, &pending, &n_pending, &needs_input)) == 1) {
    }
    if (going == 0) { /* the last chunk, padded with spaces to a multiple of 64 */
        uint8_t *out = chunk_buffer(r);
        if (out != NULL) {
            int pad = (int)((-r->n_have) & 63);
            if (r->n_have == 0) pad = 64;
            memset(out + r->n_have, ' ', (size_t)pad);
            publish(r, r->n_have + pad, pad);
            r->kind = K_END;
        }
    }
    r->cpu = seconds(CLOCK_THREAD_CPUTIME_ID);
    r->t_end = seconds(CLOCK_MONOTONIC);
    pthread_mutex_lock(&r->mu);
    r->is_done = 1;
    pthread_cond_broadcast(&r->filled);
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

/* ---- The Python side ------------------------------------------------------------------- */

static void stop(Reader *r) {
    if (r->is_started) {
        pthread_mutex_lock(&r->mu);
        r->is_stopping = 1;
        pthread_cond_broadcast(&r->freed);
        pthread_mutex_unlock(&r->mu);
        Py_BEGIN_ALLOW_THREADS
        pthread_join(r->thread, NULL);
        Py_END_ALLOW_THREADS
        r->is_started = 0;
        pthread_mutex_destroy(&r->mu);
        pthread_cond_destroy(&r->filled);
        pthread_cond_destroy(&r->freed);
    }
    if (r->slots != NULL) {
        for (int i = 0; i < r->cap; i++) Py_XDECREF(r->slots[i].data);
        free(r->slots);
        r->slots = NULL;
    }
    free(r->st), free(r->in), free(r->spare[0]), free(r->spare[1]), free(r->e_block);
    r->st = NULL, r->in = r->spare[0] = r->spare[1] = r->e_block = NULL;
    if (r->fd >= 0) close(r->fd);
    r->fd = -1;
}

static int start(Reader *r) {
    r->slots = calloc((size_t)r->cap, sizeof(Slot));
    r->st = calloc(1, sizeof(struct inflate_state));
    r->in = malloc((size_t)r->block);
    r->spare[0] = malloc((size_t)(r->block + SPARE));
    r->spare[1] = malloc((size_t)(r->block + SPARE));
    if (!r->slots || !r->st || !r->in || !r->spare[0] || !r->spare[1]) {
        PyErr_NoMemory();
        return -1;
    }
    for (int i = 0; i < r->cap; i++) {
        if ((r->slots[i].data = PyBytes_FromStringAndSize(NULL, r->alloc)) == NULL) return -1;
        r->slots[i].buf = (uint8_t *)PyBytes_AS_STRING(r->slots[i].data);
    }
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->filled, NULL);
    pthread_cond_init(&r->freed, NULL);
    sigset_t all, before; /* signals stay with the interpreter's threads */
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &before);
    int err = pthread_create(&r->thread, NULL, inflating, r);
    pthread_sigmask(SIG_SETMASK, &before, NULL);
    if (err != 0) {
        pthread_mutex_destroy(&r->mu);
        pthread_cond_destroy(&r->filled);
        pthread_cond_destroy(&r->freed);
        errno = err;
        PyErr_SetFromErrno(PyExc_OSError);
        return -1;
    }
    r->is_started = 1;
    return 0;
}

static int Reader_init(Reader *r, PyObject *args, PyObject *kwargs) {
    static char *keywords[] = {"fd", "offset", "size", "capacity", "head", "block", NULL};
    int fd, cap;
    long long offset;
    Py_ssize_t size, block;
    Py_buffer head;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "iLniy*n", keywords, &fd, &offset, &size,
                                     &cap, &head, &block))
        return -1;
    int n_head = (int)head.len;
    if (n_head <= 2) memcpy(r->head, head.buf, (size_t)n_head);
    PyBuffer_Release(&head);
    if (isal_inflate_fn == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "ISA-L is not bound (call bind first)");
        return -1;
    }
    if (r->is_started || r->fd >= 0 || size < 1 || size > MAX_SIZE || cap < 1 || n_head > 2 ||
        offset < 0 || block < 1 || block > UINT32_MAX / 2) {
        PyErr_SetString(PyExc_ValueError, "a new reader: 1 <= size <= 16 MB, capacity >= 1, "
                                          "at most 2 bytes of head, 1 <= block < 2 GB");
        return -1;
    }
    r->n_head = n_head, r->offset = offset, r->size = size, r->cap = cap, r->block = block;
    r->alloc = (size + 63) & ~(Py_ssize_t)63;
    if ((r->fd = dup(fd)) < 0) {
        PyErr_SetFromErrno(PyExc_OSError);
        return -1;
    }
    return start(r);
}

static PyObject *Reader_new(PyTypeObject *type, PyObject *args, PyObject *kwargs) {
    Reader *r = (Reader *)type->tp_alloc(type, 0);
    if (r != NULL) r->fd = -1;
    return (PyObject *)r;
}

static void Reader_dealloc(Reader *r) {
    stop(r);
    Py_TYPE(r)->tp_free((PyObject *)r);
}

static PyObject *taken(Reader *r);

/* The reader's end, raised: (kind, message, n_in, block, n_out) as InflateError's args. */
static PyObject *ended(Reader *r) {
    static const char *kinds[] = {"", "", "truncated", "isal", "garbage"};
    const char *message = "";
    if (r->kind == K_END) return NULL; /* StopIteration */
    if (r->kind == K_OS) {
        errno = r->err_no;
        return PyErr_SetFromErrno(PyExc_OSError);
    }
    if (r->kind == K_NOMEM) return PyErr_NoMemory();
    if (r->kind < K_TRUNCATED || r->kind > K_GARBAGE) {
        PyErr_SetString(PyExc_RuntimeError, "the inflating thread stopped unexpectedly");
        return NULL;
    }
    switch (r->code) { /* python-isal's isal_inflate_error() */
    case ISAL_END_INPUT: message = "End of input reached"; break;
    case ISAL_NAME_OVERFLOW: message = "End of gzip name buffer reached"; break;
    case ISAL_COMMENT_OVERFLOW: message = "End of gzip comment buffer reached"; break;
    case ISAL_EXTRA_OVERFLOW: message = "End of extra buffer reached"; break;
    case ISAL_NEED_DICT: message = "Dictionary needed to continue"; break;
    case ISAL_INVALID_BLOCK: message = "Invalid deflate block found"; break;
    case ISAL_INVALID_SYMBOL: message = "Invalid deflate symbol found"; break;
    case ISAL_INVALID_LOOKBACK: message = "Invalid lookback distance found"; break;
    case ISAL_INVALID_WRAPPER: message = "Invalid gzip/zlib wrapper found"; break;
    case ISAL_UNSUPPORTED_METHOD:
        message = "Gzip/zlib wrapper specifies unsupported compress method";
        break;
    case ISAL_INCORRECT_CHECKSUM: message = "Incorrect checksum found"; break;
    default: message = "Unknown error";
    }
    PyObject *text = r->kind == K_ISAL ? PyUnicode_FromFormat("Error %d %s", r->code, message)
                                       : PyUnicode_FromString("");
    const char *block = r->e_block ? (const char *)r->e_block : "";
    PyObject *args = text == NULL ? NULL
                                  : Py_BuildValue("(sNLy#L)", kinds[r->kind], text, r->e_n_in,
                                                  block, r->e_len, r->e_n_out);
    if (args != NULL) PyErr_SetObject(InflateError, args);
    Py_XDECREF(args);
    return NULL;
}

/* The next chunk: (bytes, n_comp, pad); waits with the GIL released. The bytes object is
 * the one the thread filled, handed over: a new one takes its place in the ring. */
static PyObject *Reader_next(Reader *r) {
    if (r->slots == NULL) {
        PyErr_SetString(PyExc_ValueError, "the reader is closed");
        return NULL;
    }
    for (;;) {
        int is_ready, is_done;
        Py_BEGIN_ALLOW_THREADS
        pthread_mutex_lock(&r->mu);
        if (r->count == 0 && !r->is_done) {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_nsec += 100 * 1000 * 1000; /* then a look at signals (Ctrl-C) */
            if (until.tv_nsec >= 1000000000) until.tv_sec++, until.tv_nsec -= 1000000000;
            pthread_cond_timedwait(&r->filled, &r->mu, &until);
        }
        is_ready = r->count > 0, is_done = r->is_done;
        pthread_mutex_unlock(&r->mu);
        Py_END_ALLOW_THREADS
        if (is_ready) return taken(r);
        if (is_done) return ended(r);
        if (PyErr_CheckSignals() < 0) return NULL;
    }
}

/* The first chunk made, its slot given a new bytes object (the thread does not touch a
 * counted slot, so it is read and replaced before the count goes down). */
static PyObject *taken(Reader *r) {
    Slot *slot = &r->slots[r->first];
    PyObject *fresh = PyBytes_FromStringAndSize(NULL, r->alloc);
    if (fresh == NULL) return NULL;
    PyObject *data = slot->data;
    Py_ssize_t len = slot->len;
    long long n_comp = slot->n_comp;
    int pad = slot->pad;
    slot->data = fresh;
    slot->buf = (uint8_t *)PyBytes_AS_STRING(fresh);
    pthread_mutex_lock(&r->mu);
    r->first = (r->first + 1) % r->cap;
    r->count--;
    pthread_cond_signal(&r->freed);
    pthread_mutex_unlock(&r->mu);
    if (len != r->alloc && _PyBytes_Resize(&data, len) < 0) return NULL;
    return Py_BuildValue("(NLi)", data, n_comp, pad);
}

static PyObject *Reader_close(Reader *r, PyObject *Py_UNUSED(ignored)) {
    stop(r);
    Py_RETURN_NONE;
}

static int has_ended(Reader *r) {
    int is_done = 1;
    if (r->is_started) {
        pthread_mutex_lock(&r->mu);
        is_done = r->is_done;
        pthread_mutex_unlock(&r->mu);
    }
    return is_done;
}

static PyObject *Reader_position(Reader *r, void *Py_UNUSED(closure)) {
    if (!has_ended(r)) Py_RETURN_NONE; /* (the thread is reading) */
    return PyLong_FromLongLong(r->offset);
}

static PyObject *Reader_timing(Reader *r, void *Py_UNUSED(closure)) {
    if (!has_ended(r)) Py_RETURN_NONE;
    return Py_BuildValue("(dddd)", r->t_start, r->t_end, r->cpu, r->t_full);
}

static PyMethodDef Reader_methods[] = {
    {"close", (PyCFunction)Reader_close, METH_NOARGS, "Stop and join the thread, free all."},
    {NULL},
};

static PyGetSetDef Reader_getset[] = {
    {"position", (getter)Reader_position, NULL,
     "Where the file was read to, once the thread is done (else None).", NULL},
    {"timing", (getter)Reader_timing, NULL,
     "(start, end, cpu, full): the thread's run in time.monotonic() seconds, its CPU "
     "seconds and the seconds it waited for room in the ring, once it is done (else None).",
     NULL},
    {NULL},
};

static PyTypeObject ReaderType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "ratelens.sources.tic._ticinflate.Reader",
    .tp_basicsize = sizeof(Reader),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "A gzip file inflated in a thread without the GIL, in chunks.",
    .tp_new = Reader_new,
    .tp_init = (initproc)Reader_init,
    .tp_dealloc = (destructor)Reader_dealloc,
    .tp_iter = PyObject_SelfIter,
    .tp_iternext = (iternextfunc)Reader_next,
    .tp_methods = Reader_methods,
    .tp_getset = Reader_getset,
};

/* gzip.compress(b"ratelens", mtime=0): inflated once to check the vendored layout. */
static const uint8_t PROBE[] = {31,  139, 8,  0,  0,   0,   0,   0,   2,   3,   43, 74, 44, 73,
                                205, 73,  205, 43, 6,  0,   224, 158, 105, 106, 8,  0,  0,  0};

static int probe(void) {
    struct inflate_state *st = calloc(1, sizeof(struct inflate_state));
    uint8_t out[32] = {0};
    if (st == NULL) return 0;
    isal_inflate_init_fn(st);
    st->hist_bits = ISAL_DEF_MAX_HIST_BITS;
    st->crc_flag = ISAL_GZIP;
    st->next_in = (uint8_t *)PROBE, st->avail_in = sizeof(PROBE);
    st->next_out = out, st->avail_out = sizeof(out);
    int code = isal_inflate_fn(st);
    int ok = code == ISAL_DECOMP_OK && st->block_state == ISAL_BLOCK_FINISH &&
             st->total_out == 8 && st->avail_out == sizeof(out) - 8 && st->avail_in == 0 &&
             st->next_in == PROBE + sizeof(PROBE) && st->read_in_length == 0 &&
             st->crc_flag == ISAL_GZIP && memcmp(out, "ratelens", 8) == 0;
    free(st);
    return ok;
}

static PyObject *bind(PyObject *Py_UNUSED(module), PyObject *arg) {
    PyObject *path_bytes;
    if (!PyUnicode_FSConverter(arg, &path_bytes)) return NULL;
    const char *path = PyBytes_AS_STRING(path_bytes);
    void *lib = dlopen(path, RTLD_NOW | RTLD_NOLOAD);
    if (lib == NULL) lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    Py_DECREF(path_bytes);
    if (lib == NULL) Py_RETURN_FALSE;
    void *init = dlsym(lib, "isal_inflate_init"), *inflate = dlsym(lib, "isal_inflate");
    if (init == NULL || inflate == NULL) Py_RETURN_FALSE; /* (the library stays loaded) */
    *(void **)&isal_inflate_init_fn = init;
    *(void **)&isal_inflate_fn = inflate;
    if (probe()) Py_RETURN_TRUE;
    isal_inflate_init_fn = NULL, isal_inflate_fn = NULL;
    Py_RETURN_FALSE;
}

static PyMethodDef module_methods[] = {
    {"bind", bind, METH_O,
     "Resolve ISA-L's inflate in the library at this path and check the vendored layout on a "
     "small stream: True if Readers can be made."},
    {NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_ticinflate", "gzip inflated in a thread that never takes the GIL.",
    -1, module_methods,
};

PyMODINIT_FUNC PyInit__ticinflate(void) {
    if (PyType_Ready(&ReaderType) < 0) return NULL;
    PyObject *m = PyModule_Create(&module);
    if (m == NULL) return NULL;
    InflateError = PyErr_NewException("ratelens.sources.tic._ticinflate.InflateError", NULL, NULL);
    Py_INCREF(&ReaderType);
    if (InflateError == NULL || PyModule_AddObject(m, "Reader", (PyObject *)&ReaderType) < 0 ||
        PyModule_AddObject(m, "InflateError", Py_NewRef(InflateError)) < 0) {
        Py_DECREF(&ReaderType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
