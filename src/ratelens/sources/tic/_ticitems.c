/* Rate rows of raw in_network items as Arrow column buffers (compiled part of items.py).
 *
 * A strict JSON parser of the subset plain in-network items use, writing the columns of
 * items._rows straight into growable buffers, with the GIL released. It accepts only
 * what it decodes exactly as orjson does (then the rows are those of the object-by-object
 * path) and DECLINES everything else, so the caller takes the Arrow path, which itself
 * falls back to the item-by-item path with its exact errors and warnings:
 *
 *   - strings: every JSON escape decoded (surrogate pairs joined, a lone surrogate
 *     declined), raw control characters and invalid UTF-8 declined; keys with a backslash
 *     declined (a key could spell a known one);
 *   - numbers: checked against the JSON grammar; negotiated_rate converted exactly (Clinger's
 *     fast path when the decimal mantissa and power of ten are exact doubles, else strtod,
 *     correctly rounded in glibc), declined on overflow or underflow; an integer token
 *     "-0" reads 0.0 as orjson's integer 0 does; provider_references plain integers in
 *     [0, 2^63); numbers that orjson would refuse (infinite) declined wherever they are;
 *   - null, a value of another JSON type than the field's, a duplicate known key, a
 *     missing required field, v1 inline provider_groups, nesting deeper than MAX_DEPTH:
 *     declined. Unknown keys are skipped with their value fully checked.
 *
 * Items are parsed into item-level, rate-level and row-level columns (keys may come in any
 * order); an item whose billing_code is not wanted is rolled back; at the end (expand) the
 * item-level strings and each rate's provider_references become dictionaries (the batch's
 * distinct values, each row's index among them) and the contained codes are copied to
 * every row. The buffers are handed to Python without copying (OwnedBuf: a malloc'ed block
 * exposed through the buffer protocol).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

enum { OK = 0, DECLINE = 1, NOMEM = 2, NOT_JSON = 3 };
#define MAX_DEPTH 200   /* far below orjson's 1,024 */
#define JSON_DEPTH 1000 /* deeper items are called not JSON (orjson fails at 1,024) */
#define MAX_NUMBER 300  /* longest number token taken (a longer one could be infinite) */
/* The lexer's steps and a column's end of value, inlined where they are called (gcc left
 * them calls): a parse of 4 bench batches 440 -> 367 M instructions. */
#define INLINE inline __attribute__((always_inline))
#define TRY(e)                 \
    do {                       \
        int rc_ = (e);         \
        if (rc_) return rc_;   \
    } while (0)

typedef unsigned char uchar;

/* ------------------------------------------------------------------ buffers and columns */

typedef struct {
    char *p;
    size_t len, cap;
} Buf;

static int grow(Buf *b, size_t extra) {
    size_t need = b->len + extra, cap = b->cap ? b->cap : 256;
    if (need <= b->cap && b->p != NULL) return OK; /* (never NULL after a grow) */
    while (cap < need) cap *= 2;
    char *p = PyMem_RawRealloc(b->p, cap);
    if (p == NULL) return NOMEM;
    b->p = p, b->cap = cap;
    return OK;
}

/* Room for n bytes in all (a hint made before parsing: a buffer still grows as needed).
 * Growing a buffer by realloc copies it and touches new pages: on batches of the bench
 * file, the copies were 6 % of the parser's instructions until buffers were sized up front
 * from the batch's bytes (reserve_rows). */
static int reserve(Buf *b, size_t n) { return n > b->cap ? grow(b, n - b->len) : OK; }

static inline int put(Buf *b, const void *src, size_t n) {
    if (b->len + n > b->cap) TRY(grow(b, n));
    if (n) memcpy(b->p + b->len, src, n);
    b->len += n;
    return OK;
}

/* Arrow string column: int32 offsets, data, validity bits (only when nullable). */
typedef struct {
    Buf off, data, valid;
    int64_t n, nulls;
    int is_nullable;
} StrCol;

/* Arrow list<string> column: int32 offsets into its strings, validity bits. */
typedef struct {
    Buf off, valid;
    int64_t n, nulls;
    int is_nullable;
    StrCol items;
} ListCol;

static int set_valid(Buf *v, int64_t i, int is_valid) {
    size_t byte = (size_t)(i >> 3);
    if (byte >= v->len) {
        uchar zero = 0;
        TRY(put(v, &zero, 1));
    }
    if (is_valid)
        v->p[byte] |= (char)(1 << (i & 7));
    else
        v->p[byte] &= (char)~(1 << (i & 7));
    return OK;
}

static int push_offset(Buf *off, size_t at) {
    if (at > INT32_MAX) return DECLINE; /* a batch too big for 32-bit offsets */
    int32_t o = (int32_t)at;
    return put(off, &o, 4);
}

/* Ends the string whose bytes were put in c->data (none for a null). */
static INLINE int str_end(StrCol *c, int is_valid) {
    TRY(push_offset(&c->off, c->data.len));
    if (c->is_nullable) TRY(set_valid(&c->valid, c->n, is_valid));
    c->n++, c->nulls += !is_valid;
    return OK;
}

static INLINE int list_end(ListCol *c, int is_valid) {
    TRY(push_offset(&c->off, (size_t)c->items.n));
    if (c->is_nullable) TRY(set_valid(&c->valid, c->n, is_valid));
    c->n++, c->nulls += !is_valid;
    return OK;
}

typedef struct {
    size_t off, data, valid;
    int64_t n, nulls;
} StrMark;

static void str_mark(const StrCol *c, StrMark *m) {
    m->off = c->off.len, m->data = c->data.len, m->valid = c->valid.len;
    m->n = c->n, m->nulls = c->nulls;
}

static void str_back(StrCol *c, const StrMark *m) {
    c->off.len = m->off, c->data.len = m->data, c->valid.len = m->valid;
    c->n = m->n, c->nulls = m->nulls;
}

static void str_free(StrCol *c) {
    PyMem_RawFree(c->off.p), PyMem_RawFree(c->data.p), PyMem_RawFree(c->valid.p);
}

static void list_free(ListCol *c) {
    PyMem_RawFree(c->off.p), PyMem_RawFree(c->valid.p);
    str_free(&c->items);
}

static int32_t at32(const Buf *off, int64_t i) { return ((const int32_t *)off->p)[i]; }

/* ------------------------------------------------------------------ JSON lexing */

typedef struct {
    const uchar *p, *end; /* end: one past the item's last byte */
} Cur;

static inline void ws(Cur *c) {
    if (c->p < c->end && *c->p > ' ') return; /* the usual case: no white space */
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\n' || *c->p == '\r' || *c->p == '\t'))
        c->p++;
}

static inline int expect(Cur *c, uchar ch) {
    ws(c);
    if (c->p >= c->end || *c->p != ch) return DECLINE;
    c->p++;
    return OK;
}

/* Length of a valid UTF-8 sequence of 2-4 bytes at p (RFC 3629: no overlong form, no
 * surrogate, nothing above U+10FFFF), or 0. */
static size_t utf8_len(const uchar *p, const uchar *end) {
    uchar c = p[0];
    size_t n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
    if (c < 0xC2 || c > 0xF4 || (size_t)(end - p) < n) return 0;
    uchar lo = 0x80, hi = 0xBF;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
    if (p[1] < lo || p[1] > hi) return 0;
    for (size_t i = 2; i < n; i++)
        if ((p[i] & 0xC0) != 0x80) return 0;
    return n;
}

static int hex4(const uchar *p, const uchar *end, unsigned *out) {
    unsigned v = 0;
    if (end - p < 4) return DECLINE;
    for (int i = 0; i < 4; i++) {
        uchar h = p[i];
        unsigned d = h >= '0' && h <= '9'   ? (unsigned)(h - '0')
                     : h >= 'a' && h <= 'f' ? (unsigned)(h - 'a' + 10)
                     : h >= 'A' && h <= 'F' ? (unsigned)(h - 'A' + 10)
                                            : 16u;
        if (d == 16) return DECLINE;
        v = v * 16 + d;
    }
    *out = v;
    return OK;
}

/* One escape at c->p (a backslash), decoded into out (NULL: only checked). */
static int escape(Cur *c, Buf *out) {
    const uchar *p = c->p;
    if (c->end - p < 2) return DECLINE;
    uchar e = p[1], one = 0;
    switch (e) {
        case '"': one = '"'; break;
        case '\\': one = '\\'; break;
        case '/': one = '/'; break;
        case 'b': one = '\b'; break;
        case 'f': one = '\f'; break;
        case 'n': one = '\n'; break;
        case 'r': one = '\r'; break;
        case 't': one = '\t'; break;
        case 'u': break;
        default: return DECLINE;
    }
    if (e != 'u') {
        c->p = p + 2;
        return out ? put(out, &one, 1) : OK;
    }
    unsigned u, lo;
    TRY(hex4(p + 2, c->end, &u));
    p += 6;
    if (u >= 0xDC00 && u <= 0xDFFF) return DECLINE; /* a lone low surrogate */
    if (u >= 0xD800 && u <= 0xDBFF) {
        if (c->end - p < 6 || p[0] != '\\' || p[1] != 'u') return DECLINE;
        TRY(hex4(p + 2, c->end, &lo));
        if (lo < 0xDC00 || lo > 0xDFFF) return DECLINE;
        u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
        p += 6;
    }
    c->p = p;
    uchar b[4];
    size_t n;
    if (u < 0x80)
        b[0] = (uchar)u, n = 1;
    else if (u < 0x800)
        b[0] = (uchar)(0xC0 | u >> 6), b[1] = (uchar)(0x80 | (u & 0x3F)), n = 2;
    else if (u < 0x10000)
        b[0] = (uchar)(0xE0 | u >> 12), b[1] = (uchar)(0x80 | ((u >> 6) & 0x3F)),
        b[2] = (uchar)(0x80 | (u & 0x3F)), n = 3;
    else
        b[0] = (uchar)(0xF0 | u >> 18), b[1] = (uchar)(0x80 | ((u >> 12) & 0x3F)),
        b[2] = (uchar)(0x80 | ((u >> 6) & 0x3F)), b[3] = (uchar)(0x80 | (u & 0x3F)), n = 4;
    return out ? put(out, b, n) : OK;
}

/* Skips to the first byte of a string that needs a look: '"', '\\', < 0x20 or >= 0x80. */
static inline const uchar *plain_run(const uchar *p, const uchar *end) {
#if defined(__SSE2__)
    const __m128i quote = _mm_set1_epi8('"'), bs = _mm_set1_epi8('\\'), sp = _mm_set1_epi8(0x20);
    while (end - p >= 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)p);
        __m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, quote), _mm_cmpeq_epi8(x, bs)),
                                   _mm_cmplt_epi8(x, sp)); /* signed: >= 0x80 is < 0x20 */
        int m = _mm_movemask_epi8(hit);
        if (m) return p + __builtin_ctz((unsigned)m);
        p += 16;
    }
#endif
    while (p < end && *p != '"' && *p != '\\' && *p >= 0x20 && *p < 0x80) p++;
    return p;
}

/* A string at c->p, decoded into out (NULL: only checked). is_key: no escape allowed. */
static INLINE int string(Cur *c, Buf *out, int is_key) {
    ws(c);
    if (c->p >= c->end || *c->p != '"') return DECLINE;
    const uchar *p = c->p + 1, *run = p;
    for (;;) {
        p = plain_run(p, c->end);
        if (p >= c->end) return DECLINE;
        uchar ch = *p;
        if (ch == '"') {
            if (out) TRY(put(out, run, (size_t)(p - run)));
            c->p = p + 1;
            return OK;
        }
        if (ch >= 0x80) {
            size_t n = utf8_len(p, c->end);
            if (!n) return DECLINE;
            p += n;
            continue;
        }
        if (ch < 0x20 || is_key) return DECLINE; /* a raw control character, an escaped key */
        if (out) TRY(put(out, run, (size_t)(p - run)));
        c->p = p;
        TRY(escape(c, out));
        p = run = c->p;
    }
}

typedef struct {
    const uchar *s;
    size_t len;
    int is_int, is_neg, is_exact; /* is_exact: m and e10 give the value (Clinger) */
    uint64_t m;                   /* decimal mantissa (when is_exact) */
    int e10;
} Num;

/* A number token checked against the JSON grammar. */
static int number(Cur *c, Num *n) {
    ws(c);
    const uchar *p = c->p, *end = c->end;
    int n_sig = 0, e10 = 0;
    uint64_t m = 0;
    n->s = p, n->is_neg = p < end && *p == '-';
    p += n->is_neg;
    if (p >= end || *p < '0' || *p > '9') return DECLINE;
    if (*p == '0')
        p++;
    else
        for (; p < end && *p >= '0' && *p <= '9'; p++)
            if (n_sig < 19) m = m * 10 + (uint64_t)(*p - '0'), n_sig++;
            else e10++, n_sig = 99; /* digits beyond 19: not exact */
    n->is_int = 1;
    if (p < end && *p == '.') {
        n->is_int = 0, p++;
        if (p >= end || *p < '0' || *p > '9') return DECLINE;
        for (; p < end && *p >= '0' && *p <= '9'; p++) {
            if (m == 0 && *p == '0' && n_sig < 19) {
                e10--;
                continue;
            }
            if (n_sig < 19) m = m * 10 + (uint64_t)(*p - '0'), n_sig++, e10--;
            else n_sig = 99;
        }
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        int sign = 1, x = 0;
        n->is_int = 0, p++;
        if (p < end && (*p == '+' || *p == '-')) sign = *p == '-' ? -1 : 1, p++;
        if (p >= end || *p < '0' || *p > '9') return DECLINE;
        for (; p < end && *p >= '0' && *p <= '9'; p++)
            if (x < 100000) x = x * 10 + (*p - '0');
        e10 += sign * x;
    }
    n->len = (size_t)(p - n->s);
    if (n->len > MAX_NUMBER) return DECLINE;
    n->m = m, n->e10 = e10;
    n->is_exact = n_sig <= 19 && m <= (1ull << 53) && e10 >= -22 && e10 <= 22;
    c->p = p;
    return OK;
}

static const double POW10[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                 1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* The double orjson gives for a number token; DECLINE when infinite, or (strict) when
 * strtod reports a range error (underflow too). */
static int to_double(const Num *n, double *out, int strict) {
    double v;
    if (n->is_exact) {
        v = (double)n->m;
        v = n->e10 >= 0 ? v * POW10[n->e10] : v / POW10[-n->e10];
        if (n->is_neg) v = -v;
    } else {
        char text[MAX_NUMBER + 1];
        char *stop;
        memcpy(text, n->s, n->len);
        text[n->len] = 0;
        errno = 0;
        v = strtod(text, &stop);
        if (stop != text + n->len || isinf(v) || isnan(v) || (strict && errno == ERANGE))
            return DECLINE;
    }
    if (n->is_int && v == 0) v = 0.0; /* "-0" is orjson's integer 0 */
    *out = v;
    return OK;
}

static int literal(Cur *c, const char *word, size_t len) {
    if ((size_t)(c->end - c->p) < len || memcmp(c->p, word, len)) return DECLINE;
    c->p += len;
    return OK;
}

static int skip_value(Cur *c, int depth);

/* Object and array walking: *first is 1 before the first member. */
static INLINE int next_key(Cur *c, int *first, const uchar **key, size_t *klen, int *done) {
    ws(c);
    if (c->p >= c->end) return DECLINE;
    if (*c->p == '}' && *first) {
        c->p++, *done = 1;
        return OK;
    }
    if (!*first) {
        if (*c->p == '}') {
            c->p++, *done = 1;
            return OK;
        }
        if (*c->p != ',') return DECLINE;
        c->p++;
    }
    *first = 0, *done = 0;
    ws(c);
    const uchar *k = c->p + 1;
    TRY(string(c, NULL, 1));
    *key = k, *klen = (size_t)(c->p - 1 - k);
    return expect(c, ':');
}

static INLINE int next_elem(Cur *c, int *first, int *done) {
    ws(c);
    if (c->p >= c->end) return DECLINE;
    if (*c->p == ']') {
        c->p++, *done = 1;
        return OK;
    }
    if (!*first) {
        if (*c->p != ',') return DECLINE;
        c->p++;
    }
    *first = 0, *done = 0;
    ws(c);
    return OK;
}

static int skip_value(Cur *c, int depth) {
    ws(c);
    if (c->p >= c->end || depth > MAX_DEPTH) return DECLINE;
    int first = 1, done = 0;
    const uchar *k;
    size_t kl;
    switch (*c->p) {
        case '"': return string(c, NULL, 0);
        case 't': return literal(c, "true", 4);
        case 'f': return literal(c, "false", 5);
        case '{':
            c->p++;
            for (;;) {
                TRY(next_key(c, &first, &k, &kl, &done));
                if (done) return OK;
                TRY(skip_value(c, depth + 1));
            }
        case '[':
            c->p++;
            for (;;) {
                TRY(next_elem(c, &first, &done));
                if (done) return OK;
                TRY(skip_value(c, depth + 1));
            }
        default: {
            Num n;
            double v;
            TRY(number(c, &n)); /* null and anything else are declined here */
            return to_double(&n, &v, 0);
        }
    }
}

/* Is the value at c->p JSON that orjson takes? (OK; DECLINE when not, or not sure: nested
 * deeper than JSON_DEPTH, a number longer than MAX_NUMBER.) */
static int json_value(Cur *c, int depth) {
    ws(c);
    if (c->p >= c->end || depth > JSON_DEPTH) return DECLINE;
    uchar open = *c->p, close = open == '{' ? '}' : ']';
    if (open == '"') return string(c, NULL, 0);
    if (open == 't') return literal(c, "true", 4);
    if (open == 'f') return literal(c, "false", 5);
    if (open == 'n') return literal(c, "null", 4);
    if (open != '{' && open != '[') {
        Num n;
        double v;
        TRY(number(c, &n));
        return to_double(&n, &v, 0);
    }
    c->p++;
    ws(c);
    if (c->p < c->end && *c->p == close) {
        c->p++;
        return OK;
    }
    for (;;) {
        if (open == '{') {
            TRY(string(c, NULL, 0)); /* a key: escapes allowed here */
            TRY(expect(c, ':'));
        }
        TRY(json_value(c, depth + 1));
        ws(c);
        if (c->p >= c->end) return DECLINE;
        if (*c->p == close) {
            c->p++;
            return OK;
        }
        if (*c->p++ != ',') return DECLINE;
    }
}

static int is_json(const uchar *s, const uchar *end) {
    Cur c = {s, end};
    if (json_value(&c, 1) != OK) return 0;
    ws(&c);
    return c.p == end;
}

/* ------------------------------------------------------------------ the parser */

typedef struct {
    int64_t index;     /* the item's index in in_network */
    int32_t item, rate; /* slots in the item-level and rate-level columns */
    int32_t j, k;       /* positions in negotiated_rates, negotiated_prices */
} Row;

enum { I_CODE, I_TYPE, I_VERSION, I_DESC, I_ARRANGE, N_ITEM_STR };
enum { P_NTYPE, P_EXP, P_CLASS, P_SETTING, P_ADDL, N_PRICE_STR };
enum { N_FEW = P_ADDL }; /* the price texts of few values (see Few) */
enum { P_SERVICE, P_MODIFIER, N_PRICE_LIST };

/* A price text of few distinct values (negotiated_type, expiration_date, billing_class,
 * setting): besides the column, its distinct values and each row's entry among them, while
 * there are at most FEW; then the rows go out as a dictionary (see dictionary()). */
#define FEW 32
typedef struct {
    StrCol values;
    Buf entries; /* int32 per row, 0 for a null */
    int32_t last; /* the entry of the value met last */
    int is_many;  /* more than FEW values: the column goes out as it is */
} Few;

typedef struct {
    int is_v2;
    const uchar **codes; /* sorted upper-case wanted codes (NULL: every code) */
    const size_t *code_lens;
    Py_ssize_t n_codes;
    StrCol item[N_ITEM_STR];
    ListCol contained;       /* TYPE:CODE of the item's bundled codes, else covered services */
    StrCol bundled, covered; /* of the current item */
    Buf part[2];             /* billing_code_type and billing_code of a contained code */
    ListCol refs;            /* provider_references of each rate, as written */
    Buf ids;                 /* the same as int64 */
    StrCol price[N_PRICE_STR];
    Few few[N_FEW];
    ListCol plist[N_PRICE_LIST];
    Buf rate; /* negotiated_rate (double) */
    Buf rows; /* Row */
} Parser;

static inline int key_is(const uchar *k, size_t kl, const char *name) {
    return kl == strlen(name) && !memcmp(k, name, kl);
}

/* A list of strings into c (list_end is the caller's). */
static int strings(Cur *c, ListCol *l) {
    int first = 1, done = 0;
    TRY(expect(c, '['));
    for (;;) {
        TRY(next_elem(c, &first, &done));
        if (done) return OK;
        TRY(string(c, &l->items.data, 0));
        TRY(str_end(&l->items, 1));
    }
}

enum { K_SERVICE = 8, K_MODIFIER = 9, K_RATE = 12 };

/* A price's known key: P_* for its strings, K_* for the others, -1 for an unknown one. */
static int price_key(const uchar *k, size_t kl) {
    switch (kl) {
        case 7: return key_is(k, kl, "setting") ? P_SETTING : -1;
        case 12: return key_is(k, kl, "service_code") ? K_SERVICE : -1;
        case 13: return key_is(k, kl, "billing_class") ? P_CLASS : -1;
        case 15:
            return key_is(k, kl, "negotiated_rate")   ? K_RATE
                   : key_is(k, kl, "negotiated_type") ? P_NTYPE
                   : key_is(k, kl, "expiration_date") ? P_EXP
                                                      : -1;
        case 21: return key_is(k, kl, "billing_code_modifier") ? K_MODIFIER : -1;
        case 22: return key_is(k, kl, "additional_information") ? P_ADDL : -1;
        default: return -1;
    }
}

static INLINE int same_str(const StrCol *c, int32_t i, const char *p, size_t len);

/* The entry of the last string of c (is_valid 0: a null) in f's values. */
static int few_add(Few *f, const StrCol *c, int is_valid) {
    int32_t e = 0;
    if (f->is_many) return OK;
    if (is_valid) {
        int32_t a = at32(&c->off, c->n - 1);
        size_t len = (size_t)(at32(&c->off, c->n) - a);
        const char *p = c->data.p + a;
        e = f->last;
        if (e >= f->values.n || !same_str(&f->values, e, p, len)) {
            for (e = 0; e < f->values.n && !same_str(&f->values, e, p, len); e++) continue;
            if (e == f->values.n) {
                if (e == FEW) {
                    f->is_many = 1;
                    return OK;
                }
                TRY(put(&f->values.data, p, len));
                TRY(str_end(&f->values, 1));
            }
            f->last = e;
        }
    }
    return put(&f->entries, &e, sizeof e);
}

static int price(Parser *ps, Cur *c, const Row *row) {
    int first = 1, done = 0, seen = 0, i;
    const uchar *k;
    size_t kl;
    TRY(expect(c, '{'));
    for (;;) {
        TRY(next_key(c, &first, &k, &kl, &done));
        if (done) break;
        int key = price_key(k, kl);
        if (key < 0) {
            TRY(skip_value(c, 6));
            continue;
        }
        if (seen & (1 << key)) return DECLINE;
        seen |= 1 << key;
        if (key < N_PRICE_STR) {
            TRY(string(c, &ps->price[key].data, 0));
            TRY(str_end(&ps->price[key], 1));
            if (key < N_FEW) TRY(few_add(&ps->few[key], &ps->price[key], 1));
        } else if (key != K_RATE) {
            TRY(strings(c, &ps->plist[key - K_SERVICE]));
            TRY(list_end(&ps->plist[key - K_SERVICE], 1));
        } else {
            Num n;
            double v;
            TRY(number(c, &n));
            TRY(to_double(&n, &v, 1));
            TRY(put(&ps->rate, &v, sizeof v));
        }
    }
    int required = (1 << P_NTYPE) | (1 << P_EXP) | (1 << P_CLASS) | (1 << K_RATE);
    if (ps->is_v2) required |= 1 << P_SETTING;
    if ((seen & required) != required) return DECLINE;
    for (i = 0; i < N_PRICE_STR; i++)
        if (!(seen & (1 << i))) {
            TRY(str_end(&ps->price[i], 0));
            if (i < N_FEW) TRY(few_add(&ps->few[i], &ps->price[i], 0));
        }
    for (i = 0; i < N_PRICE_LIST; i++)
        if (!(seen & (1 << (K_SERVICE + i)))) TRY(list_end(&ps->plist[i], 0));
    return put(&ps->rows, row, sizeof *row);
}

/* A provider reference at c->p: a plain integer in [0, 2^63) (no sign, fraction, exponent
 * or leading zero, at most 19 digits), else DECLINE, as number() and the checks on its
 * token would say (a leading zero ends the token: the next byte is then declined). */
static int reference_id(Cur *c, int64_t *id) {
    const uchar *p = c->p, *end = c->end;
    uint64_t m = 0;
    if (p >= end || *p < '0' || *p > '9') return DECLINE;
    if (*p == '0') {
        p++;
    } else { /* the run's length checked after it (m wraps past 19 digits: declined) */
        for (; p < end && (unsigned)(*p - '0') < 10; p++) m = m * 10 + (uint64_t)(*p - '0');
        if (p - c->p > 19) return DECLINE;
    }
    if (p < end && (*p == '.' || *p == 'e' || *p == 'E')) return DECLINE;
    if (m > (uint64_t)INT64_MAX) return DECLINE;
    *id = (int64_t)m, c->p = p;
    return OK;
}

/* provider_references: plain integers in [0, 2^63), kept as int64 (their text is their
 * value's: see unique_refs); refs.items counts them. */
static int references(Parser *ps, Cur *c) {
    int first = 1, done = 0;
    TRY(expect(c, '['));
    for (;;) {
        TRY(next_elem(c, &first, &done));
        if (done) return list_end(&ps->refs, 1);
        int64_t id;
        TRY(reference_id(c, &id));
        TRY(put(&ps->ids, &id, sizeof id));
        if (ps->refs.items.n == INT32_MAX) return DECLINE;
        ps->refs.items.n++;
    }
}

static int rate(Parser *ps, Cur *c, Row *row) {
    int first = 1, done = 0, seen = 0;
    const uchar *k;
    size_t kl;
    if (ps->refs.n >= INT32_MAX) return DECLINE;
    row->rate = (int32_t)ps->refs.n; /* its references: the next list of ps->refs */
    TRY(expect(c, '{'));
    for (;;) {
        TRY(next_key(c, &first, &k, &kl, &done));
        if (done) break;
        if (key_is(k, kl, "provider_references")) {
            if (seen & 1) return DECLINE;
            seen |= 1;
            TRY(references(ps, c));
        } else if (key_is(k, kl, "negotiated_prices")) {
            int f = 1, d = 0;
            if (seen & 2) return DECLINE;
            seen |= 2;
            TRY(expect(c, '['));
            for (row->k = 0;; row->k++) {
                TRY(next_elem(c, &f, &d));
                if (d) break;
                if (row->k == INT32_MAX) return DECLINE;
                TRY(price(ps, c, row));
            }
        } else if (key_is(k, kl, "provider_groups")) {
            return DECLINE; /* v1 inline groups: the item-by-item path */
        } else {
            TRY(skip_value(c, 4));
        }
    }
    return seen == 3 ? OK : DECLINE;
}

/* bundled_codes or covered_services: objects whose TYPE:CODE go to out ("None" for a
 * missing part, as the row builder's f-string writes it). */
static int contained(Parser *ps, Cur *c, StrCol *out) {
    int first = 1, done = 0;
    TRY(expect(c, '['));
    for (;;) {
        TRY(next_elem(c, &first, &done));
        if (done) return OK;
        int f = 1, d = 0, seen = 0;
        const uchar *k;
        size_t kl;
        TRY(expect(c, '{'));
        for (;;) {
            TRY(next_key(c, &f, &k, &kl, &d));
            if (d) break;
            int i = key_is(k, kl, "billing_code_type") ? 0 : key_is(k, kl, "billing_code") ? 1 : 2;
            if (i == 2) {
                TRY(skip_value(c, 4));
                continue;
            }
            if (seen & (1 << i)) return DECLINE;
            seen |= 1 << i;
            ps->part[i].len = 0;
            TRY(string(c, &ps->part[i], 0));
        }
        for (int i = 0; i < 2; i++) {
            if (i) TRY(put(&out->data, ":", 1));
            if (seen & (1 << i))
                TRY(put(&out->data, ps->part[i].p, ps->part[i].len));
            else
                TRY(put(&out->data, "None", 4));
        }
        TRY(str_end(out, 1));
    }
}

static int copy_strings(StrCol *to, const StrCol *from) {
    for (int64_t i = 0; i < from->n; i++) {
        int32_t a = at32(&from->off, i), b = at32(&from->off, i + 1);
        TRY(put(&to->data, from->data.p + a, (size_t)(b - a)));
        TRY(str_end(to, 1));
    }
    return OK;
}

static void clear(StrCol *c) {
    c->off.len = 4, c->data.len = 0, c->valid.len = 0, c->n = 0, c->nulls = 0;
}

/* The item's contained codes (bundled, else covered; null when neither has any). */
static int end_contained(Parser *ps) {
    const StrCol *from = ps->bundled.n ? &ps->bundled : ps->covered.n ? &ps->covered : NULL;
    if (from) TRY(copy_strings(&ps->contained.items, from));
    return list_end(&ps->contained, from != NULL);
}

static const char *ITEM_KEYS[] = {"billing_code", "billing_code_type",
                                  "billing_code_type_version", "description",
                                  "negotiation_arrangement"};

static int item_fields(Parser *ps, Cur *c, Row *row) {
    int first = 1, done = 0, seen = 0, i;
    const uchar *k;
    size_t kl;
    clear(&ps->bundled), clear(&ps->covered);
    TRY(expect(c, '{'));
    for (;;) {
        TRY(next_key(c, &first, &k, &kl, &done));
        if (done) break;
        for (i = 0; i < N_ITEM_STR && !key_is(k, kl, ITEM_KEYS[i]); i++) continue;
        int bit = i < N_ITEM_STR              ? i
                  : key_is(k, kl, "name")     ? 8
                  : key_is(k, kl, "negotiated_rates") ? 9
                  : key_is(k, kl, "bundled_codes")    ? 10
                  : key_is(k, kl, "covered_services") ? 11
                                                      : -1;
        if (bit < 0) {
            TRY(skip_value(c, 2));
            continue;
        }
        if (seen & (1 << bit)) return DECLINE;
        seen |= 1 << bit;
        if (i < N_ITEM_STR) {
            TRY(string(c, &ps->item[i].data, 0));
            TRY(str_end(&ps->item[i], 1));
        } else if (bit == 8) {
            TRY(string(c, NULL, 0));
        } else if (bit == 10 || bit == 11) {
            TRY(contained(ps, c, bit == 10 ? &ps->bundled : &ps->covered));
        } else {
            int f = 1, d = 0;
            TRY(expect(c, '['));
            for (row->j = 0;; row->j++) {
                TRY(next_elem(c, &f, &d));
                if (d) break;
                if (row->j == INT32_MAX) return DECLINE;
                TRY(rate(ps, c, row));
            }
        }
    }
    if ((seen & 0x31F) != 0x31F) return DECLINE; /* the five fields, name, negotiated_rates */
    return end_contained(ps);
}

static int is_wanted(const Parser *ps) {
    const StrCol *code = &ps->item[I_CODE];
    int32_t a = at32(&code->off, code->n - 1), b = at32(&code->off, code->n);
    const uchar *s = (const uchar *)code->data.p + a;
    size_t len = (size_t)(b - a);
    uchar up[64];
    if (len == 7 && !memcmp(s, "CSTM-00", 7)) return 1;
    for (size_t i = 0; i < len; i++)
        if (s[i] >= 0x80) return -1; /* str.upper of other letters: Python decides */
    if (len > sizeof up) return 0;   /* longer than any code (checked by the caller) */
    for (size_t i = 0; i < len; i++) up[i] = s[i] >= 'a' && s[i] <= 'z' ? (uchar)(s[i] - 32) : s[i];
    Py_ssize_t lo = 0, hi = ps->n_codes;
    while (lo < hi) {
        Py_ssize_t mid = (lo + hi) / 2;
        size_t ml = ps->code_lens[mid];
        int cmp = memcmp(ps->codes[mid], up, ml < len ? ml : len);
        if (!cmp) cmp = ml < len ? -1 : ml > len;
        if (!cmp) return 1;
        if (cmp < 0) lo = mid + 1;
        else hi = mid;
    }
    return 0;
}

typedef struct {
    StrMark item[N_ITEM_STR], price[N_PRICE_STR], pitems[N_PRICE_LIST], citems, ritems;
    StrMark plist[N_PRICE_LIST], contained, refs; /* list offsets and validity as a StrMark */
    size_t ids, rate, rows, few[N_FEW];
} Mark;

static void list_mark(const ListCol *l, StrMark *m) {
    m->off = l->off.len, m->valid = l->valid.len, m->n = l->n, m->nulls = l->nulls;
}

static void list_back(ListCol *l, const StrMark *m) {
    l->off.len = m->off, l->valid.len = m->valid, l->n = m->n, l->nulls = m->nulls;
}

static void mark(const Parser *ps, Mark *m) {
    for (int i = 0; i < N_ITEM_STR; i++) str_mark(&ps->item[i], &m->item[i]);
    for (int i = 0; i < N_PRICE_STR; i++) str_mark(&ps->price[i], &m->price[i]);
    for (int i = 0; i < N_PRICE_LIST; i++)
        list_mark(&ps->plist[i], &m->plist[i]), str_mark(&ps->plist[i].items, &m->pitems[i]);
    list_mark(&ps->contained, &m->contained), str_mark(&ps->contained.items, &m->citems);
    list_mark(&ps->refs, &m->refs), str_mark(&ps->refs.items, &m->ritems);
    m->ids = ps->ids.len, m->rate = ps->rate.len, m->rows = ps->rows.len;
    for (int i = 0; i < N_FEW; i++) m->few[i] = ps->few[i].entries.len;
}

static void back(Parser *ps, const Mark *m) {
    for (int i = 0; i < N_ITEM_STR; i++) str_back(&ps->item[i], &m->item[i]);
    for (int i = 0; i < N_PRICE_STR; i++) str_back(&ps->price[i], &m->price[i]);
    for (int i = 0; i < N_PRICE_LIST; i++)
        list_back(&ps->plist[i], &m->plist[i]), str_back(&ps->plist[i].items, &m->pitems[i]);
    list_back(&ps->contained, &m->contained), str_back(&ps->contained.items, &m->citems);
    list_back(&ps->refs, &m->refs), str_back(&ps->refs.items, &m->ritems);
    ps->ids.len = m->ids, ps->rate.len = m->rate, ps->rows.len = m->rows;
    for (int i = 0; i < N_FEW; i++) ps->few[i].entries.len = m->few[i];
}

/* One raw item [s, end): its rows, or none when its billing_code is not wanted. */
static int item(Parser *ps, const uchar *s, const uchar *end, int64_t index) {
    Cur c = {s, end};
    Row row = {index, (int32_t)ps->item[I_CODE].n, 0, 0, 0};
    Mark m;
    mark(ps, &m);
    if (ps->item[I_CODE].n == INT32_MAX) return DECLINE;
    TRY(item_fields(ps, &c, &row));
    ws(&c);
    if (c.p != end) return DECLINE;
    if (ps->codes) {
        int wanted = is_wanted(ps);
        if (wanted < 0) return DECLINE;
        if (!wanted) back(ps, &m);
    }
    return OK;
}

/* ------------------------------------------------------------------ rows of the batch */

/* Item-level strings and rate-level references go out as dictionaries: the distinct
 * values of the batch (in order of first slot) and each row's index among them, so Parquet
 * stores the dictionary as given instead of hashing every row's copy. */

/* "00" to "99": two digits a step in decimal(). */
static const char DIGIT_PAIRS[201] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

/* The decimal text of v >= 0 at p; the end of it. */
static char *decimal(char *p, int64_t v) {
    char tmp[24], *t = tmp + sizeof tmp; /* written from its end */
    uint64_t u = (uint64_t)v;
    while (u >= 100) {
        t -= 2, memcpy(t, DIGIT_PAIRS + 2 * (u % 100), 2);
        u /= 100;
    }
    if (u >= 10)
        t -= 2, memcpy(t, DIGIT_PAIRS + 2 * u, 2);
    else
        *--t = (char)('0' + u);
    size_t n = (size_t)(tmp + sizeof tmp - t);
    memcpy(p, t, n);
    return p + n;
}

static inline uint64_t fnv(uint64_t h, const char *p, size_t n) {
    for (size_t i = 0; i < n; i++) h = (h ^ (uchar)p[i]) * 0x100000001b3ull;
    return h;
}

#define FNV_START 0xcbf29ce484222325ull

/* An open-addressing table of dictionary entries (entry + 1; 0: free) at least twice as
 * big as the n keys it will hold. */
typedef struct {
    uint32_t *at;
    size_t mask;
} Seen;

static int seen_init(Seen *t, int64_t n) {
    size_t cap = 16;
    while (cap < 2 * (size_t)n) cap *= 2;
    t->at = PyMem_RawCalloc(cap, sizeof *t->at);
    t->mask = cap - 1;
    return t->at ? OK : NOMEM;
}

/* Are the n bytes at x and y the same? Up to 16 bytes by two overlapping loads, no call:
 * the price texts of few values (few_add: 4 a row) are short, and memcmp's call was ~7 %
 * of the parse. */
static INLINE int same_bytes(const char *x, const char *y, size_t n) {
    if (n > 16) return !memcmp(x, y, n);
    if (n >= 8) {
        uint64_t a, b, c, d;
        memcpy(&a, x, 8), memcpy(&b, y, 8), memcpy(&c, x + n - 8, 8), memcpy(&d, y + n - 8, 8);
        return a == b && c == d;
    }
    if (n >= 4) {
        uint32_t a, b, c, d;
        memcpy(&a, x, 4), memcpy(&b, y, 4), memcpy(&c, x + n - 4, 4), memcpy(&d, y + n - 4, 4);
        return a == b && c == d;
    }
    for (size_t i = 0; i < n; i++)
        if (x[i] != y[i]) return 0;
    return 1;
}

static INLINE int same_str(const StrCol *c, int32_t i, const char *p, size_t len) {
    int32_t a = at32(&c->off, i), b = at32(&c->off, i + 1);
    return (size_t)(b - a) == len && same_bytes(c->data.p + a, p, len);
}

/* The distinct strings of from's slots (none null) into dict; map[slot]: its entry. */
static int unique_str(const StrCol *from, StrCol *dict, int32_t *map) {
    Seen t;
    int rc = seen_init(&t, from->n);
    for (int64_t s = 0; s < from->n && rc == OK; s++) {
        int32_t a = at32(&from->off, s);
        const char *p = from->data.p + a;
        size_t len = (size_t)(at32(&from->off, s + 1) - a), i = fnv(FNV_START, p, len) & t.mask;
        while (t.at[i] && !same_str(dict, (int32_t)t.at[i] - 1, p, len)) i = (i + 1) & t.mask;
        if (!t.at[i]) {
            t.at[i] = (uint32_t)dict->n + 1;
            rc = put(&dict->data, p, len);
            if (rc == OK) rc = str_end(dict, 1);
        }
        map[s] = (int32_t)t.at[i] - 1;
    }
    PyMem_RawFree(t.at);
    return rc;
}

/* The distinct lists of references of from's slots into dict; map[slot]: its entry. Lists
 * are compared as their int64 ids (from's items count them), and written as their decimal
 * texts: a reference's text is its value's (plain integers: no sign, fraction, exponent or
 * leading zero, see reference_id). */
static int unique_refs(const ListCol *from, const int64_t *ids, ListCol *dict, int32_t *map) {
    Seen t;
    int rc = seen_init(&t, from->n);
    for (int64_t s = 0; s < from->n && rc == OK; s++) {
        int32_t a = at32(&from->off, s), b = at32(&from->off, s + 1);
        uint64_t h = (uint64_t)(b - a) * 0x9E3779B97F4A7C15ull;
        for (int32_t u = a; u < b; u++) h = (h ^ (uint64_t)ids[u]) * 0x9E3779B97F4A7C15ull, h ^= h >> 32;
        size_t i = h & t.mask;
        for (; t.at[i]; i = (i + 1) & t.mask) {
            int64_t f = (int64_t)t.at[i] - 1;
            int32_t fa = at32(&from->off, f), fb = at32(&from->off, f + 1);
            if (fb - fa == b - a && (b == a || !memcmp(ids + fa, ids + a, 8 * (size_t)(b - a))))
                break;
        }
        if (t.at[i]) {
            map[s] = map[t.at[i] - 1];
            continue;
        }
        t.at[i] = (uint32_t)s + 1; /* its first slot */
        for (int32_t u = a; u < b && rc == OK; u++) {
            char text[24];
            rc = put(&dict->items.data, text, (size_t)(decimal(text, ids[u]) - text));
            if (rc == OK) rc = str_end(&dict->items, 1);
        }
        if (rc == OK) rc = list_end(dict, 1);
        map[s] = (int32_t)dict->n - 1;
    }
    PyMem_RawFree(t.at);
    return rc;
}

/* Each row's entry: map of its item (is_rate 0) or rate (1) slot. */
static int row_entries(Buf *to, const int32_t *map, const Row *rows, size_t n, int is_rate) {
    TRY(grow(to, 4 * n));
    int32_t *out = (int32_t *)to->p;
    for (size_t r = 0; r < n; r++) out[r] = map[is_rate ? rows[r].rate : rows[r].item];
    to->len = 4 * n;
    return OK;
}

/* The dictionary of a column of slots (a StrCol; with ids, the ListCol of references of
 * each rate) and each row's entry in it. */
static int dictionary(void *dict, Buf *entries, const void *from, const int64_t *ids,
                      int64_t n_slots, const Row *rows, size_t n) {
    int is_rate = ids != NULL;
    int32_t *map = PyMem_RawMalloc(4 * (size_t)n_slots + 4);
    if (map == NULL) return NOMEM;
    int rc = is_rate ? unique_refs(from, ids, dict, map) : unique_str(from, dict, map);
    if (rc == OK) rc = row_entries(entries, map, rows, n, is_rate);
    PyMem_RawFree(map);
    return rc;
}

/* The list of each row's item (is_rate 0) or rate (1), validity as the slot's. */
static int expand_list(ListCol *to, const ListCol *from, const Row *rows, size_t n, int is_rate) {
    const StrCol *fi = &from->items;
    StrCol *ti = &to->items;
    for (size_t r = 0; r < n; r++) {
        int32_t slot = is_rate ? rows[r].rate : rows[r].item;
        int32_t a = at32(&from->off, slot), b = at32(&from->off, slot + 1);
        int32_t da = at32(&fi->off, a), db = at32(&fi->off, b);
        int is_valid = !from->is_nullable || ((from->valid.p[slot >> 3] >> (slot & 7)) & 1);
        if (ti->data.len + (size_t)(db - da) > INT32_MAX || ti->n + (b - a) > INT32_MAX)
            return DECLINE;
        TRY(put(&ti->data, fi->data.p + da, (size_t)(db - da)));
        TRY(grow(&ti->off, 4 * (size_t)(b - a)));
        int32_t *off = (int32_t *)(ti->off.p + ti->off.len), shift = (int32_t)ti->data.len - db;
        for (int32_t t = a; t < b; t++) off[t - a] = at32(&fi->off, t + 1) + shift;
        ti->off.len += 4 * (size_t)(b - a), ti->n += b - a;
        TRY(list_end(to, is_valid));
    }
    return OK;
}

/* Each row's "in_network[i].negotiated_rates[j].negotiated_prices[k]"; the text up to k
 * is made again only when the row's (i, j) is not the row before's (the prices of a rate
 * are rows in a row). */
static int locators(StrCol *to, const Row *rows, size_t n) {
    char text[128], *head = text; /* head: where k goes, for the (i, j) of the row before */
    for (size_t r = 0; r < n; r++) {
        if (r == 0 || rows[r].index != rows[r - 1].index || rows[r].j != rows[r - 1].j) {
            char *p = text;
            memcpy(p, "in_network[", 11), p = decimal(p + 11, rows[r].index);
            memcpy(p, "].negotiated_rates[", 19), p = decimal(p + 19, rows[r].j);
            memcpy(p, "].negotiated_prices[", 20), head = p + 20;
        }
        char *p = decimal(head, rows[r].k);
        *p++ = ']';
        TRY(put(&to->data, text, (size_t)(p - text)));
        TRY(str_end(to, 1));
    }
    return OK;
}

enum { O_LOCATOR, O_ITEM, O_PRICE = O_ITEM + N_ITEM_STR, N_OUT_STR = O_PRICE + N_PRICE_STR };
enum { L_BUNDLED, L_REFS, L_PRICE, N_OUT_LIST = L_PRICE + N_PRICE_LIST };

static const char *OUT_STR[N_OUT_STR] = {
    "locator",         "billing_code",  "billing_code_type", "billing_code_type_version",
    "description",     "negotiation_arrangement", "negotiated_type", "expiration_date",
    "billing_class",   "setting",       "additional_information"};
static const char *OUT_LIST[N_OUT_LIST] = {"bundled_codes", "provider_references",
                                           "service_code", "billing_code_modifier"};

typedef struct {
    StrCol str[N_OUT_STR]; /* the price ones are moved from the parser; the item ones are
                              dictionaries (entries: each row's) */
    ListCol list[N_OUT_LIST]; /* provider_references: a dictionary */
    Buf entries[N_OUT_STR], list_entries[N_OUT_LIST];
    Buf entries_valid[N_OUT_STR]; /* a price text's nulls, when a dictionary */
    int64_t entries_nulls[N_OUT_STR];
    size_t n;
} Out;

static int str_init(StrCol *c) { return push_offset(&c->off, 0); }

static int list_init(ListCol *l) {
    TRY(push_offset(&l->off, 0));
    return str_init(&l->items);
}

static int expand(Parser *ps, Out *o) {
    const Row *rows = (const Row *)ps->rows.p;
    size_t n = o->n = ps->rows.len / sizeof(Row);
    for (int i = 0; i < O_PRICE; i++) TRY(str_init(&o->str[i]));
    for (int i = 0; i < L_PRICE; i++) TRY(list_init(&o->list[i]));
    o->list[L_BUNDLED].is_nullable = 1;
    TRY(reserve(&o->str[O_LOCATOR].off, 4 * n + 4));
    TRY(reserve(&o->str[O_LOCATOR].data, 64 * n)); /* "in_network[i]...": ~55 bytes */
    TRY(locators(&o->str[O_LOCATOR], rows, n));
    for (int i = 0; i < N_ITEM_STR; i++)
        TRY(dictionary(&o->str[O_ITEM + i], &o->entries[O_ITEM + i], &ps->item[i], NULL,
                       ps->item[i].n, rows, n));
    TRY(reserve(&o->list[L_BUNDLED].off, 4 * n + 4));
    TRY(expand_list(&o->list[L_BUNDLED], &ps->contained, rows, n, 0));
    static const int64_t NO_IDS[1];
    const int64_t *ids = ps->ids.p ? (const int64_t *)ps->ids.p : NO_IDS;
    TRY(dictionary(&o->list[L_REFS], &o->list_entries[L_REFS], &ps->refs, ids, ps->refs.n, rows, n));
    for (int i = 0; i < N_PRICE_STR; i++) {
        Few *f = i < N_FEW ? &ps->few[i] : NULL;
        StrCol *c = &ps->price[i];
        if (f == NULL || f->is_many) {
            o->str[O_PRICE + i] = *c, memset(c, 0, sizeof(StrCol));
            continue;
        }
        o->str[O_PRICE + i] = f->values, memset(&f->values, 0, sizeof(StrCol));
        o->entries[O_PRICE + i] = f->entries, memset(&f->entries, 0, sizeof(Buf));
        o->entries_valid[O_PRICE + i] = c->valid, memset(&c->valid, 0, sizeof(Buf));
        o->entries_nulls[O_PRICE + i] = c->nulls;
        if (o->entries[O_PRICE + i].p == NULL) TRY(grow(&o->entries[O_PRICE + i], 4)); /* no row */
    }
    for (int i = 0; i < N_PRICE_LIST; i++)
        o->list[L_PRICE + i] = ps->plist[i], memset(&ps->plist[i], 0, sizeof(ListCol));
    return OK;
}

/* The row-level buffers sized for the rows that size bytes of items may give: a price is
 * ~250 bytes of JSON in the bench file and at least ~70 (its required keys); a reference
 * ~5 bytes, at least 2. These are hints (see reserve): the virtual memory asked for beyond
 * what is written is never touched. */
static int reserve_rows(Parser *ps, size_t size) {
    size_t rows = size / 128 + 16, ids = size / 16 + 16;
    TRY(reserve(&ps->rows, rows * sizeof(Row)));
    TRY(reserve(&ps->rate, rows * sizeof(double)));
    for (int i = 0; i < N_PRICE_STR; i++) {
        TRY(reserve(&ps->price[i].off, 4 * rows + 4));
        TRY(reserve(&ps->price[i].data, 16 * rows));
    }
    for (int i = 0; i < N_FEW; i++) TRY(reserve(&ps->few[i].entries, 4 * rows));
    for (int i = 0; i < N_PRICE_LIST; i++) {
        TRY(reserve(&ps->plist[i].off, 4 * rows + 4));
        TRY(reserve(&ps->plist[i].items.off, 16 * rows + 4));
        TRY(reserve(&ps->plist[i].items.data, 8 * rows));
    }
    return reserve(&ps->ids, 8 * ids);
}

static int parser_init(Parser *ps, size_t size) {
    ps->price[P_SETTING].is_nullable = ps->price[P_ADDL].is_nullable = 1;
    ps->plist[0].is_nullable = ps->plist[1].is_nullable = ps->contained.is_nullable = 1;
    for (int i = 0; i < N_ITEM_STR; i++) TRY(str_init(&ps->item[i]));
    for (int i = 0; i < N_PRICE_STR; i++) TRY(str_init(&ps->price[i]));
    for (int i = 0; i < N_FEW; i++) TRY(str_init(&ps->few[i].values));
    for (int i = 0; i < N_PRICE_LIST; i++) TRY(list_init(&ps->plist[i]));
    TRY(str_init(&ps->bundled));
    TRY(str_init(&ps->covered));
    TRY(list_init(&ps->contained));
    TRY(list_init(&ps->refs));
    return reserve_rows(ps, size);
}

static void parser_free(Parser *ps) {
    for (int i = 0; i < N_ITEM_STR; i++) str_free(&ps->item[i]);
    for (int i = 0; i < N_PRICE_STR; i++) str_free(&ps->price[i]);
    for (int i = 0; i < N_FEW; i++) str_free(&ps->few[i].values), PyMem_RawFree(ps->few[i].entries.p);
    for (int i = 0; i < N_PRICE_LIST; i++) list_free(&ps->plist[i]);
    str_free(&ps->bundled), str_free(&ps->covered);
    list_free(&ps->contained), list_free(&ps->refs);
    PyMem_RawFree(ps->part[0].p), PyMem_RawFree(ps->part[1].p);
    PyMem_RawFree(ps->ids.p), PyMem_RawFree(ps->rate.p), PyMem_RawFree(ps->rows.p);
}

static void out_free(Out *o) {
    for (int i = 0; i < N_OUT_STR; i++)
        str_free(&o->str[i]), PyMem_RawFree(o->entries[i].p), PyMem_RawFree(o->entries_valid[i].p);
    for (int i = 0; i < N_OUT_LIST; i++) list_free(&o->list[i]), PyMem_RawFree(o->list_entries[i].p);
}

/* ------------------------------------------------------------------ Python objects */

/* A block of PyMem_Raw memory exposed read-only through the buffer protocol. */
typedef struct {
    PyObject_HEAD
    char *p;
    Py_ssize_t len;
} OwnedBuf;

static char EMPTY[8];

static int OwnedBuf_getbuffer(OwnedBuf *self, Py_buffer *view, int flags) {
    return PyBuffer_FillInfo(view, (PyObject *)self, self->p ? self->p : EMPTY, self->len, 1,
                             flags);
}

static void OwnedBuf_dealloc(OwnedBuf *self) {
    PyMem_RawFree(self->p);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyBufferProcs OwnedBuf_as_buffer = {(getbufferproc)OwnedBuf_getbuffer, NULL};

static PyTypeObject OwnedBufType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "ratelens.sources.tic._ticitems.OwnedBuf",
    .tp_basicsize = sizeof(OwnedBuf),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "A column buffer of parse_items (read-only, buffer protocol).",
    .tp_dealloc = (destructor)OwnedBuf_dealloc,
    .tp_as_buffer = &OwnedBuf_as_buffer,
};

/* Moves b's memory into a new OwnedBuf, cut to its length (the room reserved and not used
 * goes back to the allocator: a batch's buffers are held while it is written). */
static PyObject *owned(Buf *b) {
    OwnedBuf *o = PyObject_New(OwnedBuf, &OwnedBufType);
    if (o == NULL) return NULL;
    if (b->p != NULL && b->cap - b->len > 4096) {
        char *p = PyMem_RawRealloc(b->p, b->len ? b->len : 1); /* shrinks in place */
        if (p != NULL) b->p = p;
    }
    o->p = b->p, o->len = (Py_ssize_t)b->len;
    b->p = NULL, b->len = b->cap = 0;
    return (PyObject *)o;
}

static PyObject *validity(Buf *valid, int64_t nulls) {
    if (nulls) return owned(valid);
    Py_RETURN_NONE;
}

static PyObject *result(Parser *ps, Out *o) {
    PyObject *cols = PyDict_New(), *v = NULL;
    if (cols == NULL) return NULL;
    for (int i = 0; i < N_OUT_STR; i++) {
        StrCol *c = &o->str[i];
        v = Py_BuildValue("(NNNL)", validity(&c->valid, c->nulls), owned(&c->off),
                          owned(&c->data), (long long)c->nulls);
        if (v != NULL && o->entries[i].p != NULL)
            v = Py_BuildValue("(NNLN)", owned(&o->entries[i]),
                              validity(&o->entries_valid[i], o->entries_nulls[i]),
                              (long long)o->entries_nulls[i], v);
        if (v == NULL || PyDict_SetItemString(cols, OUT_STR[i], v) < 0) goto fail;
        Py_CLEAR(v);
    }
    for (int i = 0; i < N_OUT_LIST; i++) {
        ListCol *l = &o->list[i];
        v = Py_BuildValue("(NNLNN)", validity(&l->valid, l->nulls), owned(&l->off),
                          (long long)l->nulls, owned(&l->items.off), owned(&l->items.data));
        if (v != NULL && o->list_entries[i].p != NULL)
            v = Py_BuildValue("(NOLN)", owned(&o->list_entries[i]), Py_None, 0LL, v);
        if (v == NULL || PyDict_SetItemString(cols, OUT_LIST[i], v) < 0) goto fail;
        Py_CLEAR(v);
    }
    if ((v = owned(&ps->rate)) == NULL || PyDict_SetItemString(cols, "negotiated_rate", v) < 0)
        goto fail;
    Py_CLEAR(v);
    if ((v = owned(&ps->ids)) == NULL || PyDict_SetItemString(cols, "references", v) < 0)
        goto fail;
    Py_CLEAR(v);
    return Py_BuildValue("(nN)", (Py_ssize_t)o->n, cols);
fail:
    Py_XDECREF(v);
    Py_DECREF(cols);
    return NULL;
}

typedef struct {
    Py_buffer text, starts, ends;
    int64_t first;
} Input;

/* Each item of the blocks given to f (parse, or is_json); the first status not OK. */
static int each_item(Parser *ps, Input *in, Py_ssize_t n_in, int is_parse) {
    for (Py_ssize_t b = 0; b < n_in; b++) {
        const int64_t *starts = in[b].starts.buf, *ends = in[b].ends.buf;
        Py_ssize_t n = in[b].starts.len / 8, len = in[b].text.len;
        const uchar *text = in[b].text.buf;
        for (Py_ssize_t j = 0; j < n; j++) {
            int64_t a = starts[j] - starts[0], e = ends[j] - starts[0];
            if (a < 0 || a > e || e >= len) return DECLINE;
            if (is_parse)
                TRY(item(ps, text + a, text + e + 1, in[b].first + j));
            else if (!is_json(text + a, text + e + 1))
                return NOT_JSON;
        }
    }
    return OK;
}

/* The rows; when declined, NOT_JSON if an item is not JSON orjson takes (then Arrow's
 * reader, laxer, must not read the batch: the item-by-item path says what is wrong). */
static int parse_all(Parser *ps, Input *in, Py_ssize_t n_in, Out *o) {
    int rc = each_item(ps, in, n_in, 1);
    if (rc == DECLINE && each_item(ps, in, n_in, 0) == NOT_JSON) return NOT_JSON;
    return rc == OK ? expand(ps, o) : rc;
}

static int take_inputs(PyObject *seq, Input *in, Py_ssize_t n) {
    for (Py_ssize_t b = 0; b < n; b++) {
        PyObject *t = PySequence_Fast_GET_ITEM(seq, b), *text, *first, *starts, *ends;
        if (!PyArg_ParseTuple(t, "OOOO", &text, &first, &starts, &ends)) return -1;
        if ((in[b].first = PyLong_AsLongLong(first)) == -1 && PyErr_Occurred()) return -1;
        if (PyObject_GetBuffer(text, &in[b].text, PyBUF_SIMPLE) < 0) return -1;
        if (PyObject_GetBuffer(starts, &in[b].starts, PyBUF_SIMPLE) < 0) return -1;
        if (PyObject_GetBuffer(ends, &in[b].ends, PyBUF_SIMPLE) < 0) return -1;
        if (in[b].starts.len != in[b].ends.len || in[b].starts.len % 8 || !in[b].starts.len) {
            PyErr_SetString(PyExc_ValueError, "starts and ends: equal int64 arrays expected");
            return -1;
        }
    }
    return 0;
}

static int take_codes(PyObject *codes, Parser *ps, PyObject **keep) {
    if (codes == Py_None) return 0;
    if ((*keep = PySequence_Fast(codes, "codes: a sequence of bytes")) == NULL) return -1;
    ps->n_codes = PySequence_Fast_GET_SIZE(*keep);
    ps->codes = PyMem_Calloc((size_t)ps->n_codes + 1, sizeof *ps->codes);
    ps->code_lens = PyMem_Calloc((size_t)ps->n_codes + 1, sizeof *ps->code_lens);
    if (ps->codes == NULL || ps->code_lens == NULL) return PyErr_NoMemory(), -1;
    for (Py_ssize_t i = 0; i < ps->n_codes; i++) {
        PyObject *c = PySequence_Fast_GET_ITEM(*keep, i);
        if (!PyBytes_Check(c) || PyBytes_GET_SIZE(c) > 64) {
            PyErr_SetString(PyExc_ValueError, "codes: sorted bytes of at most 64 bytes");
            return -1;
        }
        ps->codes[i] = (const uchar *)PyBytes_AS_STRING(c);
        ((size_t *)ps->code_lens)[i] = (size_t)PyBytes_GET_SIZE(c);
    }
    return 0;
}

static PyObject *parse_items(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *blocks, *codes, *seq = NULL, *keep = NULL, *out = NULL;
    int is_v2, rc = OK;
    if (!PyArg_ParseTuple(args, "OOp", &blocks, &codes, &is_v2)) return NULL;
    if ((seq = PySequence_Fast(blocks, "blocks: a sequence")) == NULL) return NULL;
    Py_ssize_t n_in = PySequence_Fast_GET_SIZE(seq);
    Input *in = PyMem_Calloc((size_t)n_in + 1, sizeof *in);
    Parser ps;
    Out o;
    memset(&ps, 0, sizeof ps), memset(&o, 0, sizeof o);
    ps.is_v2 = is_v2;
    if (in == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    if (take_inputs(seq, in, n_in) < 0 || take_codes(codes, &ps, &keep) < 0) goto done;
    size_t size = 0; /* bytes of the items */
    for (Py_ssize_t b = 0; b < n_in; b++) size += (size_t)in[b].text.len;
    Py_BEGIN_ALLOW_THREADS
    rc = parser_init(&ps, size);
    if (rc == OK) rc = parse_all(&ps, in, n_in, &o);
    Py_END_ALLOW_THREADS
    if (rc == NOMEM)
        PyErr_NoMemory();
    else if (rc == DECLINE)
        out = Py_NewRef(Py_None);
    else if (rc == NOT_JSON)
        out = Py_NewRef(Py_False);
    else
        out = result(&ps, &o);
done:
    for (Py_ssize_t b = 0; in != NULL && b < n_in; b++) {
        if (in[b].text.obj) PyBuffer_Release(&in[b].text);
        if (in[b].starts.obj) PyBuffer_Release(&in[b].starts);
        if (in[b].ends.obj) PyBuffer_Release(&in[b].ends);
    }
    PyMem_Free(in);
    PyMem_Free((void *)ps.codes), PyMem_Free((void *)ps.code_lens);
    parser_free(&ps), out_free(&o);
    Py_XDECREF(keep);
    Py_DECREF(seq);
    return out;
}

static PyMethodDef module_methods[] = {
    {"parse_items", parse_items, METH_VARARGS,
     "parse_items(blocks, codes, is_v2) -> (n_rows, columns) | None | False\n\n"
     "blocks: (text, first index, starts, ends) of raw in_network items (int64 arrays);\n"
     "codes: sorted upper-case wanted codes as bytes, or None for every code. None when a\n"
     "batch is outside the plain subset (see the file's comment), False when an item is\n"
     "not JSON that orjson takes."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "_ticitems",
    .m_doc = "Compiled in_network item rows for tic_items.",
    .m_size = -1,
    .m_methods = module_methods,
};

PyMODINIT_FUNC PyInit__ticitems(void) {
    if (PyType_Ready(&OwnedBufType) < 0) return NULL;
    return PyModule_Create(&module);
}
