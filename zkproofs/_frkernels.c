/* Fused kernels over BLS12-381 scalar-field vectors, for the provers' hot loops.
 *
 * The vectors are zk-dtypes field arrays: 32 bytes per element, four little-endian 64-bit
 * limbs of the Montgomery form x·2^256 mod r. numpy cannot hand such arrays over the buffer
 * protocol, so the Python side (zkproofs/fr_kernels.py) passes each array as its data
 * address and its stride in bytes, after checking dtype, lengths and writability; this
 * module trusts those and only does arithmetic. Every kernel is a single pass with no
 * temporaries: what numpy does in a dozen passes (each allocating a fresh array) is done
 * here in one, with the same results bit for bit (Montgomery arithmetic is deterministic).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

typedef unsigned __int128 u128;
typedef struct { uint64_t v[4]; } fr;

static const fr P = {{0xffffffff00000001ULL, 0x53bda402fffe5bfeULL, 0x3339d80809a1d805ULL,
                      0x73eda753299d7d48ULL}};
static const uint64_t INV = 0xfffffffeffffffffULL; /* −r^{−1} mod 2^64 */

static inline int geq_p(const uint64_t t[4]) {
    for (int i = 3; i >= 0; i--) {
        if (t[i] > P.v[i]) return 1;
        if (t[i] < P.v[i]) return 0;
    }
    return 1;
}

static inline void sub_p(uint64_t t[4]) {
    u128 borrow = 0;
    for (int i = 0; i < 4; i++) {
        u128 d = (u128)t[i] - P.v[i] - borrow;
        t[i] = (uint64_t)d;
        borrow = (d >> 64) & 1;
    }
}

static inline fr add(fr a, fr b) {
    fr r;
    u128 c = 0;
    for (int i = 0; i < 4; i++) {
        c += (u128)a.v[i] + b.v[i];
        r.v[i] = (uint64_t)c;
        c >>= 64;
    }
    /* a, b < r < 2^255: the sum fits in 256 bits. */
    if (geq_p(r.v)) sub_p(r.v);
    return r;
}

static inline fr sub(fr a, fr b) {
    fr r;
    u128 borrow = 0;
    for (int i = 0; i < 4; i++) {
        u128 d = (u128)a.v[i] - b.v[i] - borrow;
        r.v[i] = (uint64_t)d;
        borrow = (d >> 64) & 1;
    }
    if (borrow) {
        u128 c = 0;
        for (int i = 0; i < 4; i++) {
            c += (u128)r.v[i] + P.v[i];
            r.v[i] = (uint64_t)c;
            c >>= 64;
        }
    }
    return r;
}

/* Montgomery product a·b·2^−256 mod r (CIOS). */
static inline fr mul(fr a, fr b) {
    uint64_t t[6] = {0, 0, 0, 0, 0, 0};
    for (int i = 0; i < 4; i++) {
        u128 c = 0;
        for (int j = 0; j < 4; j++) {
            c += (u128)a.v[j] * b.v[i] + t[j];
            t[j] = (uint64_t)c;
            c >>= 64;
        }
        c += t[4];
        t[4] = (uint64_t)c;
        t[5] = (uint64_t)(c >> 64);
        uint64_t m = t[0] * INV;
        c = (u128)m * P.v[0] + t[0];
        c >>= 64;
        for (int j = 1; j < 4; j++) {
            c += (u128)m * P.v[j] + t[j];
            t[j - 1] = (uint64_t)c;
            c >>= 64;
        }
        c += t[4];
        t[3] = (uint64_t)c;
        t[4] = t[5] + (uint64_t)(c >> 64);
    }
    fr r;
    memcpy(r.v, t, sizeof r.v);
    if (t[4] || geq_p(r.v)) sub_p(r.v);
    return r;
}

/* ------------------------------------------------------------------ array access */

typedef struct {
    char *base;
    Py_ssize_t stride;
} arr;

static inline fr get(arr a, Py_ssize_t i) {
    fr r;
    memcpy(&r, a.base + i * a.stride, sizeof r);
    return r;
}

static inline void put(arr a, Py_ssize_t i, fr x) { memcpy(a.base + i * a.stride, &x, sizeof x); }

static int parse_scalar(PyObject *bytes, fr *out) {
    char *buf;
    Py_ssize_t len;
    if (PyBytes_AsStringAndSize(bytes, &buf, &len) < 0) return -1;
    if (len != 32) {
        PyErr_SetString(PyExc_ValueError, "a field element is 32 bytes");
        return -1;
    }
    memcpy(out, buf, 32);
    return 0;
}

static PyObject *to_bytes(fr x) { return PyBytes_FromStringAndSize((const char *)&x, 32); }

#define ARR(name) \
    arr name = {(char *)(uintptr_t)name##_addr, name##_stride}

/* step_sums(m, w, ws, p0, s, p1, s, q0, s, q1, s, lam) → (t0, tinf)
 *
 * Over pairs i < m of the children (P0, P1, Q0, Q1) at 2i (X = 0) and 2i + 1 (X = 1):
 *   t0   = Σ w_i·(λ·Q0·Q1 + P0·Q1 + P1·Q0)             at X = 0,
 *   tinf = Σ w_i·(λ·ΔQ0·ΔQ1 + ΔP0·ΔQ1 + ΔP1·ΔQ0)       (the X² coefficient),
 * with P = 1 (address 0) meaning P0·Q1 + P1·Q0 = Q0 + Q1 and ΔP = 0. */
static PyObject *step_sums(PyObject *self, PyObject *args) {
    Py_ssize_t m, w_stride, p0_stride, p1_stride, q0_stride, q1_stride;
    unsigned long long w_addr, p0_addr, p1_addr, q0_addr, q1_addr;
    PyObject *lam_b;
    if (!PyArg_ParseTuple(args, "nKnKnKnKnKnS", &m, &w_addr, &w_stride, &p0_addr, &p0_stride,
                          &p1_addr, &p1_stride, &q0_addr, &q0_stride, &q1_addr, &q1_stride,
                          &lam_b))
        return NULL;
    fr lam;
    if (parse_scalar(lam_b, &lam) < 0) return NULL;
    ARR(w);
    ARR(p0);
    ARR(p1);
    ARR(q0);
    ARR(q1);
    int ones = p0_addr == 0;
    fr t0 = {{0}}, tinf = {{0}};
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < m; i++) {
        fr wi = get(w, i);
        fr a0 = get(q0, 2 * i), a1 = get(q1, 2 * i);
        fr d0 = sub(get(q0, 2 * i + 1), a0), d1 = sub(get(q1, 2 * i + 1), a1);
        fr g0 = mul(mul(a0, a1), lam);
        fr gi = mul(mul(d0, d1), lam);
        if (ones) {
            g0 = add(g0, add(a0, a1));
        } else {
            fr b0 = get(p0, 2 * i), b1 = get(p1, 2 * i);
            fr e0 = sub(get(p0, 2 * i + 1), b0), e1 = sub(get(p1, 2 * i + 1), b1);
            g0 = add(g0, add(mul(b0, a1), mul(b1, a0)));
            gi = add(gi, add(mul(e0, d1), mul(e1, d0)));
        }
        t0 = add(t0, mul(wi, g0));
        tinf = add(tinf, mul(wi, gi));
    }
    Py_END_ALLOW_THREADS
    PyObject *a = to_bytes(t0), *b = to_bytes(tinf);
    if (!a || !b) {
        Py_XDECREF(a);
        Py_XDECREF(b);
        return NULL;
    }
    return Py_BuildValue("(NN)", a, b);
}

/* fold(m, a, s, out, s, r): out[i] = a[2i] + r·(a[2i+1] − a[2i]) for i < m. */
static PyObject *fold(PyObject *self, PyObject *args) {
    Py_ssize_t m, a_stride, out_stride;
    unsigned long long a_addr, out_addr;
    PyObject *r_b;
    if (!PyArg_ParseTuple(args, "nKnKnS", &m, &a_addr, &a_stride, &out_addr, &out_stride, &r_b))
        return NULL;
    fr r;
    if (parse_scalar(r_b, &r) < 0) return NULL;
    ARR(a);
    ARR(out);
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < m; i++) {
        fr x0 = get(a, 2 * i), x1 = get(a, 2 * i + 1);
        put(out, i, add(x0, mul(r, sub(x1, x0))));
    }
    Py_END_ALLOW_THREADS
    Py_RETURN_NONE;
}

/* pair_up(m, p, s, q, s, out_p, s, out_q, s): the next GKR layer for i < m,
 *   out_p[i] = p[2i]·q[2i+1] + p[2i+1]·q[2i]   (q[2i] + q[2i+1] when p = 1, address 0),
 *   out_q[i] = q[2i]·q[2i+1]. */
static PyObject *pair_up(PyObject *self, PyObject *args) {
    Py_ssize_t m, p_stride, q_stride, op_stride, oq_stride;
    unsigned long long p_addr, q_addr, op_addr, oq_addr;
    if (!PyArg_ParseTuple(args, "nKnKnKnKn", &m, &p_addr, &p_stride, &q_addr, &q_stride,
                          &op_addr, &op_stride, &oq_addr, &oq_stride))
        return NULL;
    ARR(p);
    ARR(q);
    ARR(op);
    ARR(oq);
    int ones = p_addr == 0;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < m; i++) {
        fr a0 = get(q, 2 * i), a1 = get(q, 2 * i + 1);
        fr np_ = ones ? add(a0, a1) : add(mul(get(p, 2 * i), a1), mul(get(p, 2 * i + 1), a0));
        put(op, i, np_);
        put(oq, i, mul(a0, a1));
    }
    Py_END_ALLOW_THREADS
    Py_RETURN_NONE;
}

/* encode(n, const, k, col0, c0, col1, c1, col2, c2, out, s):
 *   out[i] = const − Σ_{t<k} c_t·col_t[i]
 * with col_t contiguous int64 arrays (any sign) and c_t given as c_t·2^512 mod r in
 * Montgomery form (so that one Montgomery product with the plain integer col_t[i] gives
 * c_t·col_t[i] in Montgomery form): the GKR's witness leaves α − enc(tuple) in one pass. */
static PyObject *encode(PyObject *self, PyObject *args) {
    Py_ssize_t n, k, out_stride;
    unsigned long long col_addr[3], out_addr;
    PyObject *const_b, *coef_b[3];
    if (!PyArg_ParseTuple(args, "nSnKSKSKSKn", &n, &const_b, &k, &col_addr[0], &coef_b[0],
                          &col_addr[1], &coef_b[1], &col_addr[2], &coef_b[2], &out_addr,
                          &out_stride))
        return NULL;
    if (k < 0 || k > 3) {
        PyErr_SetString(PyExc_ValueError, "one to three columns");
        return NULL;
    }
    fr c0, coef[3];
    if (parse_scalar(const_b, &c0) < 0) return NULL;
    for (Py_ssize_t t = 0; t < k; t++)
        if (parse_scalar(coef_b[t], &coef[t]) < 0) return NULL;
    ARR(out);
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < n; i++) {
        fr acc = c0;
        for (Py_ssize_t t = 0; t < k; t++) {
            int64_t v = ((const int64_t *)(uintptr_t)col_addr[t])[i];
            if (!v) continue;
            fr x = {{v < 0 ? (uint64_t)(-v) : (uint64_t)v, 0, 0, 0}};
            fr term = mul(coef[t], x);
            acc = v < 0 ? add(acc, term) : sub(acc, term);
        }
        put(out, i, acc);
    }
    Py_END_ALLOW_THREADS
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"step_sums", step_sums, METH_VARARGS, "GKR step round sums (see the C source)."},
    {"fold", fold, METH_VARARGS, "Bind the lowest variable of a vector."},
    {"pair_up", pair_up, METH_VARARGS, "The next GKR layer of fractions."},
    {"encode", encode, METH_VARARGS, "const − Σ c_t·col_t over int64 columns."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_frkernels",
                                    "Fused BLS12-381 scalar-field kernels.", -1, methods};

PyMODINIT_FUNC PyInit__frkernels(void) { return PyModule_Create(&module); }
