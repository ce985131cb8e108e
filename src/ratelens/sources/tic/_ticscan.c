/* Structure analysis of huge JSON documents, chunk by chunk (compiled part of structure.py).
 *
 * The Python scanner needs, for each chunk: the brackets that enter or leave nesting depth
 * <= 2 (root object, root arrays, their elements) and, when filtering by billing code, the
 * places where an element's own fields (depth 3 text) hold a wanted code as a whole JSON
 * token. This file computes both in one pass, with the GIL released:
 *
 *   - 64 bytes at a time, SSE2 compares give bit masks of quotes, backslashes and brackets;
 *     escaped quotes are removed (the odd-backslash-run method of simdjson) and a prefix
 *     XOR over the quote bits gives the "inside a string" mask, so brackets in strings are
 *     ignored; blocks without brackets outside strings are skipped at once;
 *   - brackets are walked bit by bit to keep the depth; only depth 3 text is tokenized (a
 *     string's contents taken in one run up to its closing quote from the block's quote
 *     mask when no backslash comes first, the rest a byte at a time), and each string or
 *     bare token (a number written without quotes) is compared with the needles. A depth 3
 *     string holding a \u escape is reported too (it could spell anything): the caller
 *     parses every reported element and decides on its real billing_code, so a report is
 *     a candidate, never a decision.
 *
 *   - with ids=True, each element's own "provider_group_id" member (a depth 3 key) is
 *     read as it goes by: for every bracket closing an element (to depth 2) the analysis
 *     gives the integer id, or -1 when anything is unusual (the key missing or given twice,
 *     a \u escape in any depth 3 string, a value other than a plain integer of at most 18
 *     digits). A -1 sends the caller back to a JSON parser, so an id given is always the
 *     one a parser finds.
 *
 * All state (depth, string/escape carries, a token cut by the chunk end) lives in the
 * Analyzer object, so chunks may be cut anywhere.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#define MAX_NEEDLES 256
#define MAX_NEEDLE 63
#define ITEM_DEPTH 3
#define ID_KEY "provider_group_id"
#define ID_KEY_LEN 17
#define MAX_ID_DIGITS 18
#define TOK_CAP MAX_NEEDLE /* >= MAX_ID_DIGITS, so a longer number is seen as too long */

enum { TOK_OUT, TOK_STR, TOK_ESC, TOK_BARE };
/* where an element's provider_group_id member is being read: after the key, after ':' */
enum { KEY_NONE, KEY_SEEN, KEY_COLON };

typedef struct {
    int64_t *data;
    Py_ssize_t len, cap;
} Vec;

typedef struct {
    PyObject_HEAD
    int64_t depth;
    int64_t max_depth; /* an upper bound of the deepest nesting met so far */
    uint64_t in_string; /* all ones when the next chunk starts inside a string */
    uint64_t escaped;   /* 1 when the next chunk's first byte is escaped */
    int n_needles;
    unsigned char needle_len[MAX_NEEDLES];
    unsigned char needle[MAX_NEEDLES][MAX_NEEDLE + 1];
    int max_len;
    int keep_len; /* bytes of a token worth keeping: the longest needle, or the id key */
    /* depth 3 token being read */
    int tok;
    int64_t tok_start;
    int tok_len; /* bytes kept in tok_buf; keep_len + 1 means "longer than anything wanted" */
    int tok_bs;
    unsigned char tok_buf[TOK_CAP + 1];
    /* the provider_group_id of the element being read (with ids) */
    int ids;
    int key_state;
    int n_ids; /* ids found in the element */
    int id_bad; /* something unusual: the caller parses the element */
    int64_t id;
} Analyzer;

static int vec_push(Vec *v, int64_t x) {
    if (v->len == v->cap) {
        Py_ssize_t cap = v->cap ? v->cap * 2 : 1024;
        int64_t *d = PyMem_RawRealloc(v->data, (size_t)cap * sizeof(int64_t));
        if (d == NULL) return -1;
        v->data = d;
        v->cap = cap;
    }
    v->data[v->len++] = x;
    return 0;
}

/* ------------------------------------------------------------------ bit masks of a block */

typedef struct {
    uint64_t quote, backslash, open, close;
} Masks;

static inline Masks block_masks(const unsigned char *p) {
    Masks m;
#if defined(__SSE2__)
    const __m128i q = _mm_set1_epi8(0x22), bs = _mm_set1_epi8(0x5C);
    const __m128i low = _mm_set1_epi8(0x20), op = _mm_set1_epi8(0x7B), cl = _mm_set1_epi8(0x7D);
    uint64_t mq = 0, mb = 0, mo = 0, mc = 0;
    for (int k = 0; k < 4; k++) {
        __m128i v = _mm_loadu_si128((const __m128i *)(p + 16 * k));
        __m128i f = _mm_or_si128(v, low); /* [ -> {, ] -> } */
        mq |= (uint64_t)(uint16_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v, q)) << (16 * k);
        mb |= (uint64_t)(uint16_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v, bs)) << (16 * k);
        mo |= (uint64_t)(uint16_t)_mm_movemask_epi8(_mm_cmpeq_epi8(f, op)) << (16 * k);
        mc |= (uint64_t)(uint16_t)_mm_movemask_epi8(_mm_cmpeq_epi8(f, cl)) << (16 * k);
    }
    m.quote = mq, m.backslash = mb, m.open = mo, m.close = mc;
#else
    uint64_t mq = 0, mb = 0, mo = 0, mc = 0;
    for (int i = 0; i < 64; i++) {
        unsigned char c = p[i], f = c | 0x20;
        mq |= (uint64_t)(c == 0x22) << i;
        mb |= (uint64_t)(c == 0x5C) << i;
        mo |= (uint64_t)(f == 0x7B) << i;
        mc |= (uint64_t)(f == 0x7D) << i;
    }
    m.quote = mq, m.backslash = mb, m.open = mo, m.close = mc;
#endif
    return m;
}

#if defined(__x86_64__) && defined(__GNUC__)
#define HAVE_AVX2_PATH 1
#include <immintrin.h>
/* The same masks 32 bytes at a time (used when the CPU has AVX2, checked at import). */
__attribute__((target("avx2"), always_inline)) static inline Masks block_masks_avx2(
    const unsigned char *p) {
    const __m256i q = _mm256_set1_epi8(0x22), bs = _mm256_set1_epi8(0x5C);
    const __m256i low = _mm256_set1_epi8(0x20), op = _mm256_set1_epi8(0x7B);
    const __m256i cl = _mm256_set1_epi8(0x7D);
    __m256i v0 = _mm256_loadu_si256((const __m256i *)p);
    __m256i v1 = _mm256_loadu_si256((const __m256i *)(p + 32));
    __m256i f0 = _mm256_or_si256(v0, low), f1 = _mm256_or_si256(v1, low);
#define MASK64(a, b, c)                                                                     \
    ((uint64_t)(uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(a, c)) |                   \
     (uint64_t)(uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(b, c)) << 32)
    Masks m;
    m.quote = MASK64(v0, v1, q);
    m.backslash = MASK64(v0, v1, bs);
    m.open = MASK64(f0, f1, op);
    m.close = MASK64(f0, f1, cl);
#undef MASK64
    return m;
}
#endif

/* Characters escaped by a backslash (simdjson's find_escaped_branchless). */
static inline uint64_t find_escaped(Analyzer *a, uint64_t backslash) {
    if (!backslash) {
        uint64_t escaped = a->escaped;
        a->escaped = 0;
        return escaped;
    }
    const uint64_t even = 0x5555555555555555ULL;
    backslash &= ~a->escaped;
    uint64_t follows = (backslash << 1) | a->escaped;
    uint64_t odd_starts = backslash & ~even & ~follows;
    uint64_t sum;
    a->escaped = __builtin_add_overflow(odd_starts, backslash, &sum);
    uint64_t invert = sum << 1;
    return (even ^ invert) & follows;
}

static inline uint64_t prefix_xor(uint64_t x) {
    x ^= x << 1;
    x ^= x << 2;
    x ^= x << 4;
    x ^= x << 8;
    x ^= x << 16;
    x ^= x << 32;
    return x;
}

/* ------------------------------------------------------------------ depth 3 tokens */

static inline int is_needle(Analyzer *a) {
    if (a->tok_len > a->max_len) return 0;
    for (int k = 0; k < a->n_needles; k++)
        if (a->needle_len[k] == a->tok_len && memcmp(a->needle[k], a->tok_buf, a->tok_len) == 0)
            return 1;
    return 0;
}

static inline void tok_add(Analyzer *a, unsigned char c) {
    if (a->tok_len <= a->keep_len) a->tok_buf[a->tok_len++] = c;
}

/* ---- an element's own provider_group_id (with ids) */

static inline void id_reset(Analyzer *a) {
    a->key_state = KEY_NONE, a->n_ids = 0, a->id_bad = 0, a->id = 0;
}

/* A depth 3 string ended: the key, or anything else (a \u escape could spell the key). */
static inline void id_string(Analyzer *a) {
    if (a->key_state == KEY_COLON) a->id_bad = 1; /* the id written as a string */
    if (a->tok_bs) a->id_bad = 1;
    a->key_state = a->tok_len == ID_KEY_LEN && memcmp(a->tok_buf, ID_KEY, ID_KEY_LEN) == 0
                       ? KEY_SEEN
                       : KEY_NONE;
}

/* A depth 3 bare token ended: the id when it follows the key and its colon. */
static inline void id_bare(Analyzer *a) {
    if (a->key_state != KEY_COLON) {
        a->key_state = KEY_NONE;
        return;
    }
    a->key_state = KEY_NONE;
    int n = a->tok_len;
    if (n < 1 || n > MAX_ID_DIGITS || (a->tok_buf[0] == '0' && n > 1)) {
        a->id_bad = 1;
        return;
    }
    int64_t v = 0;
    for (int k = 0; k < n; k++) {
        unsigned char c = a->tok_buf[k];
        if (c < '0' || c > '9') {
            a->id_bad = 1;
            return;
        }
        v = v * 10 + (c - '0');
    }
    a->id = v;
    a->n_ids++;
}

/* Any other depth 3 byte outside tokens (':' or ','), or a bracket at depth 3. */
static inline void id_other(Analyzer *a, unsigned char c) {
    if (c == ':' && a->key_state == KEY_SEEN) {
        a->key_state = KEY_COLON;
        return;
    }
    if (a->key_state == KEY_COLON) a->id_bad = 1; /* a missing value, or an array/object */
    a->key_state = KEY_NONE;
}

static inline int64_t id_result(Analyzer *a) {
    return a->id_bad || a->n_ids != 1 ? -1 : a->id;
}

/* Ends a bare token (at a bracket, a separator or a quote); 0, or -1 without memory. */
static inline int tok_end_bare(Analyzer *a, Vec *hits) {
    int rc = 0;
    if (a->tok == TOK_BARE) {
        if (is_needle(a)) rc = vec_push(hits, a->tok_start);
        if (a->ids) id_bare(a);
    }
    a->tok = TOK_OUT;
    return rc;
}

static int bulk_strings = 1; /* string contents copied in runs (use_bulk_strings: tests) */

/* Depth 3 text p[0..n) (n <= 64): its tokens compared with the needles (and, with ids, the
 * provider_group_id read). `quotes` and `slashes` are the block's unescaped quotes and
 * backslashes from p on (bit k: p[k]): the contents of a string up to its closing quote are
 * taken in one run when no backslash comes first (as the byte-by-byte path takes them). */
static int tokenize(Analyzer *a, const unsigned char *p, Py_ssize_t n, int64_t at, Vec *hits,
                    uint64_t quotes, uint64_t slashes) {
    for (Py_ssize_t i = 0; i < n; i++) {
        unsigned char c = p[i];
        if (a->tok == TOK_STR && bulk_strings && c != '"' && c != '\\') {
            uint64_t q = quotes >> i, b = slashes >> i; /* (i < n <= 64) */
            Py_ssize_t run = q ? (Py_ssize_t)__builtin_ctzll(q) : n - i;
            if (run > n - i) run = n - i;
            if (!b || (Py_ssize_t)__builtin_ctzll(b) >= run) { /* plain text up to the quote */
                int room = a->keep_len + 1 - a->tok_len;
                int take = room <= 0 ? 0 : (run < room ? (int)run : room);
                memcpy(a->tok_buf + a->tok_len, p + i, (size_t)take);
                a->tok_len += take;
                i += run - 1; /* (the quote, if any, is the next byte) */
                continue;
            }
        }
        switch (a->tok) {
        case TOK_STR:
            if (c == '"') {
                if ((a->tok_bs || is_needle(a)) && vec_push(hits, a->tok_start) < 0) return -1;
                if (a->ids) id_string(a);
                a->tok = TOK_OUT;
            } else if (c == '\\') {
                a->tok = TOK_ESC;
            } else {
                tok_add(a, c);
            }
            break;
        case TOK_ESC:
            /* \u could spell any code: a candidate. Any other escape decodes to a quote,
               backslash, slash or control character, which no needle holds: no match. */
            if (c == 'u')
                a->tok_bs = 1;
            else
                a->tok_len = a->keep_len + 1;
            a->tok = TOK_STR;
            break;
        case TOK_BARE:
            if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == ',' || c == ':' ||
                c == '"') {
                if (tok_end_bare(a, hits) < 0) return -1;
                if (a->ids && (c == ',' || c == ':')) id_other(a, c);
                if (c == '"') {
                    a->tok = TOK_STR, a->tok_start = at + i, a->tok_len = 0, a->tok_bs = 0;
                }
            } else {
                tok_add(a, c);
            }
            break;
        default: /* TOK_OUT */
            if (c == '"') {
                a->tok = TOK_STR, a->tok_start = at + i, a->tok_len = 0, a->tok_bs = 0;
            } else if (c == ',' || c == ':') {
                if (a->ids) id_other(a, c);
            } else if (!(c == ' ' || c == '\t' || c == '\r' || c == '\n')) {
                a->tok = TOK_BARE, a->tok_start = at + i, a->tok_len = 0, a->tok_bs = 0;
                tok_add(a, c);
            }
        }
    }
    return 0;
}

/* ------------------------------------------------------------------ one chunk */

typedef struct {
    Vec pos, is_open, depth, hits, ids;
} Out;

/* One bracket event (and, with ids, the id of the element it closes, else 0). */
static inline int push_event(Analyzer *a, Out *o, int64_t at, int is_open, int64_t id) {
    if (vec_push(&o->pos, at) < 0 || vec_push(&o->is_open, is_open) < 0 ||
        vec_push(&o->depth, a->depth) < 0)
        return -1;
    return a->ids ? vec_push(&o->ids, id) : 0;
}

__attribute__((always_inline)) static inline int analyse_block(
    Analyzer *a, const unsigned char *p, Masks m, int64_t off, int64_t base, int tokens, Out *o) {
    uint64_t quote = m.quote & ~find_escaped(a, m.backslash);
    uint64_t inside = prefix_xor(quote) ^ a->in_string;
    a->in_string = (uint64_t)((int64_t)inside >> 63);
    uint64_t opens = m.open & ~inside, closes = m.close & ~inside;
    uint64_t brackets = opens | closes;
    if (!brackets) {
        return tokens && a->depth == ITEM_DEPTH
                   ? tokenize(a, p, 64, base + off, &o->hits, quote, m.backslash)
                   : 0;
    }
    int n_close = __builtin_popcountll(closes);
    int n_open = __builtin_popcountll(opens);
    if (a->depth + n_open > a->max_depth) a->max_depth = a->depth + n_open;
    if (a->depth - n_close > ITEM_DEPTH) { /* the whole block is deeper than an item's own
                                             fields: no event, no token, only the depth */
        a->depth += n_open - n_close;
        return 0;
    }
    int cur = 0;
    while (brackets) {
        int i = __builtin_ctzll(brackets);
        if (tokens && a->depth == ITEM_DEPTH) {
            if (tokenize(a, p + cur, i - cur, base + off + cur, &o->hits, quote >> cur,
                         m.backslash >> cur) < 0)
                return -1;
            if (tok_end_bare(a, &o->hits) < 0) return -1;
        }
        if (a->ids && a->depth == ITEM_DEPTH) id_other(a, '[');
        if ((opens >> i) & 1) {
            a->depth++;
            if (a->depth <= ITEM_DEPTH) {
                if (push_event(a, o, off + i, 1, 0) < 0) return -1;
                a->tok = TOK_OUT;
                if (a->depth == ITEM_DEPTH) id_reset(a);
            }
        } else {
            a->depth--;
            if (a->depth <= ITEM_DEPTH - 1) {
                int64_t id = a->depth == ITEM_DEPTH - 1 ? id_result(a) : -1;
                if (push_event(a, o, off + i, 0, id) < 0) return -1;
            }
            if (a->depth == ITEM_DEPTH) a->tok = TOK_OUT;
        }
        cur = i + 1;
        brackets &= brackets - 1;
    }
    if (tokens && a->depth == ITEM_DEPTH && cur < 64)
        return tokenize(a, p + cur, 64 - cur, base + off + cur, &o->hits, quote >> cur,
                        m.backslash >> cur);
    return 0;
}

/* Whole blocks of a chunk; returns the offset reached (a block failing stops early). */
static Py_ssize_t analyse_blocks(Analyzer *a, const unsigned char *p, Py_ssize_t n, int64_t base,
                                 int tokens, Out *o, int *rc) {
    Py_ssize_t off = 0;
    for (; off + 64 <= n && *rc == 0; off += 64)
        *rc = analyse_block(a, p + off, block_masks(p + off), off, base, tokens, o);
    return off;
}

#ifdef HAVE_AVX2_PATH
__attribute__((target("avx2,popcnt,bmi"))) static Py_ssize_t analyse_blocks_avx2(
    Analyzer *a, const unsigned char *p, Py_ssize_t n, int64_t base, int tokens, Out *o,
    int *rc) {
    Py_ssize_t off = 0;
    for (; off + 64 <= n && *rc == 0; off += 64)
        *rc = analyse_block(a, p + off, block_masks_avx2(p + off), off, base, tokens, o);
    return off;
}
static int has_avx2 = 0;
#endif

static PyObject *vec_bytes(Vec *v) {
    return PyBytes_FromStringAndSize((const char *)v->data, v->len * (Py_ssize_t)sizeof(int64_t));
}

static PyObject *Analyzer_analyse(Analyzer *a, PyObject *args) {
    Py_buffer buf;
    long long base;
    if (!PyArg_ParseTuple(args, "y*L", &buf, &base)) return NULL;
    const unsigned char *p = buf.buf;
    Py_ssize_t n = buf.len;
    int tokens = a->n_needles > 0 || a->ids;
    Out o = {{0}};
    int rc = 0;
    Py_BEGIN_ALLOW_THREADS
#ifdef HAVE_AVX2_PATH
    Py_ssize_t off = has_avx2 ? analyse_blocks_avx2(a, p, n, base, tokens, &o, &rc)
                              : analyse_blocks(a, p, n, base, tokens, &o, &rc);
#else
    Py_ssize_t off = analyse_blocks(a, p, n, base, tokens, &o, &rc);
#endif
    if (off < n && rc == 0) { /* the document's last bytes, padded with spaces */
        unsigned char last[64];
        memset(last, ' ', 64);
        memcpy(last, p + off, (size_t)(n - off));
        rc = analyse_block(a, last, block_masks(last), off, base, tokens, &o);
    }
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&buf);
    PyObject *result = NULL;
    if (rc == 0) {
        result = Py_BuildValue("(NNNNN)", vec_bytes(&o.pos), vec_bytes(&o.is_open),
                               vec_bytes(&o.depth), vec_bytes(&o.hits), vec_bytes(&o.ids));
    } else {
        PyErr_NoMemory();
    }
    PyMem_RawFree(o.pos.data), PyMem_RawFree(o.is_open.data);
    PyMem_RawFree(o.depth.data), PyMem_RawFree(o.hits.data), PyMem_RawFree(o.ids.data);
    return result;
}

static PyObject *Analyzer_state(Analyzer *a, void *closure) {
    (void)closure;
    return Py_BuildValue("(LOO)", (long long)a->depth, a->in_string ? Py_True : Py_False,
                         a->escaped ? Py_True : Py_False);
}

static int Analyzer_init(Analyzer *a, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {"needles", "ids", NULL};
    PyObject *needles = Py_None;
    int ids = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|Op", kwlist, &needles, &ids)) return -1;
    a->depth = 0, a->max_depth = 0, a->in_string = 0, a->escaped = 0;
    a->n_needles = 0, a->max_len = 0, a->tok = TOK_OUT, a->tok_len = 0;
    a->ids = ids, a->keep_len = MAX_ID_DIGITS;
    id_reset(a);
    if (needles == Py_None) return 0;
    PyObject *seq = PySequence_Fast(needles, "needles must be a sequence of bytes");
    if (seq == NULL) return -1;
    Py_ssize_t count = PySequence_Fast_GET_SIZE(seq);
    if (count > MAX_NEEDLES) {
        Py_DECREF(seq);
        PyErr_Format(PyExc_ValueError, "at most %d needles", MAX_NEEDLES);
        return -1;
    }
    for (Py_ssize_t k = 0; k < count; k++) {
        PyObject *item = PySequence_Fast_GET_ITEM(seq, k);
        if (!PyBytes_Check(item) || PyBytes_GET_SIZE(item) == 0 ||
            PyBytes_GET_SIZE(item) > MAX_NEEDLE) {
            Py_DECREF(seq);
            PyErr_Format(PyExc_ValueError, "needles must be bytes of 1 to %d bytes", MAX_NEEDLE);
            return -1;
        }
        Py_ssize_t len = PyBytes_GET_SIZE(item);
        memcpy(a->needle[k], PyBytes_AS_STRING(item), (size_t)len);
        a->needle_len[k] = (unsigned char)len;
        if (len > a->max_len) a->max_len = (int)len;
    }
    if (a->max_len > a->keep_len) a->keep_len = a->max_len;
    a->n_needles = (int)count;
    Py_DECREF(seq);
    return 0;
}

static PyMethodDef Analyzer_methods[] = {
    {"analyse", (PyCFunction)Analyzer_analyse, METH_VARARGS,
     "analyse(data, base) -> (pos, is_open, depth, hits, ids): int64 arrays as bytes.\n\n"
     "pos: chunk offsets of brackets opening to depth <= 3 or closing to depth <= 2;\n"
     "is_open: 1 for an opener; depth: the depth after each; hits: absolute offsets\n"
     "(base + offset) of depth 3 tokens equal to a needle, or strings with a \\u escape;\n"
     "ids (empty unless Analyzer(ids=True)): per event, for a bracket closing an element\n"
     "(to depth 2) its own integer provider_group_id, or -1 when unusual; else 0 or -1."},
    {NULL, NULL, 0, NULL},
};

static PyObject *Analyzer_max_depth(Analyzer *a, void *closure) {
    (void)closure;
    return PyLong_FromLongLong((long long)a->max_depth);
}

static PyGetSetDef Analyzer_getset[] = {
    {"max_depth", (getter)Analyzer_max_depth, NULL,
     "at least the deepest nesting met so far (an upper bound)", NULL},
    {"state", (getter)Analyzer_state, NULL, "(depth, inside a string, escape pending)", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject AnalyzerType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "ratelens.sources.tic._ticscan.Analyzer",
    .tp_basicsize = sizeof(Analyzer),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Analyzer(needles=None, ids=False): structure of successive chunks of one JSON "
              "document.",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Analyzer_init,
    .tp_methods = Analyzer_methods,
    .tp_getset = Analyzer_getset,
};

static PyObject *use_avx2(PyObject *self, PyObject *arg) {
    (void)self;
    int wanted = PyObject_IsTrue(arg);
    if (wanted < 0) return NULL;
#ifdef HAVE_AVX2_PATH
    int before = has_avx2;
    if (wanted && !(__builtin_cpu_supports("avx2") && __builtin_cpu_supports("popcnt") &&
                    __builtin_cpu_supports("bmi")))
        return PyErr_Format(PyExc_RuntimeError, "this CPU has no AVX2");
    has_avx2 = wanted;
    return PyBool_FromLong(before);
#else
    if (wanted) return PyErr_Format(PyExc_RuntimeError, "built without the AVX2 path");
    Py_RETURN_FALSE;
#endif
}

static PyObject *use_bulk_strings(PyObject *self, PyObject *arg) {
    (void)self;
    int wanted = PyObject_IsTrue(arg);
    if (wanted < 0) return NULL;
    int before = bulk_strings;
    bulk_strings = wanted;
    return PyBool_FromLong(before);
}

static PyMethodDef module_methods[] = {
    {"use_bulk_strings", use_bulk_strings, METH_O,
     "use_bulk_strings(flag) -> bool: take depth 3 string contents in runs (else byte by "
     "byte, for tests); returns the previous choice."},
    {"use_avx2", use_avx2, METH_O,
     "use_avx2(flag) -> bool: choose the AVX2 or the SSE2 path (for tests); returns the "
     "previous choice. RuntimeError when the CPU has no AVX2."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_ticscan", "Compiled structure analysis for tic_structure.", -1,
    module_methods,
};

PyMODINIT_FUNC PyInit__ticscan(void) {
#ifdef HAVE_AVX2_PATH
    __builtin_cpu_init();
    const char *env = getenv("RATELENS_NO_AVX2");
    has_avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("popcnt") &&
               __builtin_cpu_supports("bmi") && !(env && *env);
#endif
    if (PyType_Ready(&AnalyzerType) < 0) return NULL;
    PyObject *m = PyModule_Create(&module);
    if (m == NULL) return NULL;
    Py_INCREF(&AnalyzerType);
    if (PyModule_AddObject(m, "Analyzer", (PyObject *)&AnalyzerType) < 0) {
        Py_DECREF(&AnalyzerType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
