/*
 * audit._merkle: batch RFC 6962 / RFC 9162 hashing for the ledger verifier (audit_verify).
 *
 * Why this exists: verifying a log costs one SHA-256 per entry (its leaf) and one per interior
 * node. With hashlib each call costs ~0.3 us, of which SHA-256 itself (SHA-NI, 185 bytes) is
 * ~0.1 us: the rest is the interpreter making hash objects and digests. Looping in C over
 * OpenSSL's SHA-256 (the same libcrypto hashlib uses) removes that overhead. No maintained
 * Python package offers batch SHA-256 over a list of messages, hence this small module.
 *
 * It computes exactly what audit/fast_merkle.py computes in pure Python (the fallback when this
 * module is not built); tests check that both agree, and the offline verifier in
 * audit/verify_core.py stays pure Python.
 *
 * Contracts (hashes are raw 32-byte SHA-256 digests, levels are their concatenation):
 *
 *   leaf_level(rows, first_seq) -> (leaves: bytes, problem: tuple | None)
 *       rows: a list of (seq: int, body: bytes, leaf_hash: bytes) in seq order.
 *       leaves: SHA-256(0x00 || body) of each row, concatenated (32 zero bytes for a body that
 *       is not bytes: it has no leaf).
 *       problem: None, or ("seq", i) when rows[i]'s seq is not first_seq + i (leaves is then
 *       empty: the rows are not the chunk asked for), or ("leaf", i) for the first row whose
 *       stored leaf_hash differs from the recomputed one or whose body or leaf_hash is not bytes.
 *
 *   sqlite_leaf_level(path, first_seq, end_seq) -> (leaves: bytes, problem: tuple | None)
 *       The same check and result as leaf_level over the rows of
 *       SELECT seq, body, leaf_hash FROM audit_ledgerentry WHERE seq >= first_seq AND seq < end_seq
 *       ORDER BY seq, read straight from the SQLite file at path (opened read-only). Reading
 *       through the sqlite3 module costs ~0.6 us per row in Python objects alone, more than the
 *       hashing; here a row costs what SQLite's own step costs. Fewer leaves than end_seq -
 *       first_seq and no problem: the log ends (or has a hole) after the last one returned.
 *
 *   node_level(hashes: bytes) -> bytes
 *       The parents SHA-256(0x01 || left || right) of consecutive pairs of a level; an odd last
 *       hash has no complete parent and is dropped.
 *
 * The hashing runs with the GIL released; the inputs are immutable bytes objects kept alive by
 * the caller's arguments.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <openssl/evp.h>
#include <sqlite3.h>

#define HASH_SIZE 32

static EVP_MD *sha256;  /* fetched once: an implicit fetch on every init would cost more than the hash */

typedef struct {
    const unsigned char *data;
    size_t size;
} span;

/* SHA-256(prefix || message) into out; 0 on an OpenSSL failure. */
static int
prefixed_digest(EVP_MD_CTX *ctx, unsigned char prefix, const unsigned char *message, size_t size, unsigned char *out)
{
    return EVP_DigestInit_ex(ctx, sha256, NULL) && EVP_DigestUpdate(ctx, &prefix, 1)
           && EVP_DigestUpdate(ctx, message, size) && EVP_DigestFinal_ex(ctx, out, NULL);
}

static PyObject *
openssl_error(void)
{
    PyErr_SetString(PyExc_RuntimeError, "OpenSSL SHA-256 failed");
    return NULL;
}

/* The problem tuple ("seq" | "leaf", index) or None, after leaves. */
static PyObject *
result_tuple(PyObject *leaves, int seq_problem, Py_ssize_t first_bad)
{
    if (seq_problem)
        return Py_BuildValue("(N(sn))", leaves, "seq", first_bad);
    if (first_bad >= 0)
        return Py_BuildValue("(N(sn))", leaves, "leaf", first_bad);
    return Py_BuildValue("(NO)", leaves, Py_None);
}

static PyObject *
leaf_level(PyObject *module, PyObject *args)
{
    PyObject *rows;
    long long first_seq;
    if (!PyArg_ParseTuple(args, "O!L:leaf_level", &PyList_Type, &rows, &first_seq))
        return NULL;
    Py_ssize_t count = PyList_GET_SIZE(rows);

    /* Under the GIL: check each row's shape and seq, and note where its bytes are. */
    span *bodies = PyMem_Malloc(sizeof(span) * (count ? count : 1));
    const unsigned char **stored = PyMem_Malloc(sizeof(*stored) * (count ? count : 1));
    if (bodies == NULL || stored == NULL) {
        PyMem_Free(bodies);
        PyMem_Free(stored);
        return PyErr_NoMemory();
    }
    PyObject *result = NULL;
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *row = PyList_GET_ITEM(rows, i);
        if (!PyTuple_Check(row) || PyTuple_GET_SIZE(row) != 3) {
            PyErr_Format(PyExc_TypeError, "leaf_level: row %zd is not a (seq, body, leaf_hash) tuple", i);
            goto done;
        }
        PyObject *seq = PyTuple_GET_ITEM(row, 0), *body = PyTuple_GET_ITEM(row, 1), *leaf = PyTuple_GET_ITEM(row, 2);
        int overflow = 0;
        long long value = PyLong_Check(seq) ? PyLong_AsLongLongAndOverflow(seq, &overflow) : -1;
        if (value == -1 && PyErr_Occurred())
            goto done;
        if (!PyLong_Check(seq) || overflow || value != first_seq + i) {
            result = Py_BuildValue("(y#(sn))", "", (Py_ssize_t)0, "seq", i);
            goto done;
        }
        /* A body that is not bytes (NULL or text in a tampered copy) has no leaf; a stored hash
           that is not 32 bytes can never match: both are the row's problem. */
        bodies[i].data = PyBytes_Check(body) ? (const unsigned char *)PyBytes_AS_STRING(body) : NULL;
        bodies[i].size = PyBytes_Check(body) ? (size_t)PyBytes_GET_SIZE(body) : 0;
        stored[i] = PyBytes_Check(leaf) && PyBytes_GET_SIZE(leaf) == HASH_SIZE ? (const unsigned char *)PyBytes_AS_STRING(leaf) : NULL;
    }

    PyObject *leaves = PyBytes_FromStringAndSize(NULL, count * HASH_SIZE);
    if (leaves == NULL)
        goto done;
    unsigned char *out = (unsigned char *)PyBytes_AS_STRING(leaves);
    Py_ssize_t first_bad = -1;
    int ok = 1;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; ok && i < count; i++) {
        unsigned char *leaf = out + i * HASH_SIZE;
        if (bodies[i].data == NULL)
            memset(leaf, 0, HASH_SIZE);
        else
            ok = ctx != NULL && prefixed_digest(ctx, 0x00, bodies[i].data, bodies[i].size, leaf);
        if (first_bad < 0 && (bodies[i].data == NULL || stored[i] == NULL || memcmp(stored[i], leaf, HASH_SIZE) != 0))
            first_bad = i;
    }
    Py_END_ALLOW_THREADS
    EVP_MD_CTX_free(ctx);
    if (!ok) {
        Py_DECREF(leaves);
        openssl_error();
        goto done;
    }
    result = result_tuple(leaves, 0, first_bad);

done:
    PyMem_Free(bodies);
    PyMem_Free(stored);
    return result;
}

static PyObject *
sqlite_leaf_level(PyObject *module, PyObject *args)
{
    const char *path;
    long long first_seq, end_seq;
    if (!PyArg_ParseTuple(args, "sLL:sqlite_leaf_level", &path, &first_seq, &end_seq))
        return NULL;
    if (end_seq < first_seq) {
        PyErr_SetString(PyExc_ValueError, "sqlite_leaf_level: end_seq is before first_seq");
        return NULL;
    }
    Py_ssize_t expected = (Py_ssize_t)(end_seq - first_seq);
    unsigned char *out = PyMem_RawMalloc(expected * HASH_SIZE + 1);
    if (out == NULL)
        return PyErr_NoMemory();

    static const char *sql = "SELECT seq, body, leaf_hash FROM audit_ledgerentry WHERE seq >= ?1 AND seq < ?2 ORDER BY seq";
    sqlite3 *db = NULL;
    sqlite3_stmt *stmt = NULL;
    EVP_MD_CTX *ctx = NULL;
    Py_ssize_t count = 0, first_bad = -1;
    int seq_problem = 0, rc, ok = 1;
    Py_BEGIN_ALLOW_THREADS
    rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_busy_timeout(db, 10000);
        rc = sqlite3_prepare_v2(db, sql, -1, &stmt, NULL);
    }
    if (rc == SQLITE_OK) {
        sqlite3_bind_int64(stmt, 1, first_seq);
        sqlite3_bind_int64(stmt, 2, end_seq);
        ctx = EVP_MD_CTX_new();
        ok = ctx != NULL;
    }
    while (rc == SQLITE_OK && ok && count < expected && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        rc = SQLITE_OK;
        if (sqlite3_column_type(stmt, 0) != SQLITE_INTEGER || sqlite3_column_int64(stmt, 0) != first_seq + count) {
            seq_problem = 1;
            first_bad = count;
            break;
        }
        /* Only blobs count, as in leaf_level (sqlite3 would give Python str or None for the
           rest). A blob's pointer is valid until the next step; read it, then its length. */
        unsigned char *leaf = out + count * HASH_SIZE;
        int body_is_blob = sqlite3_column_type(stmt, 1) == SQLITE_BLOB;
        if (body_is_blob) {
            const unsigned char *body = sqlite3_column_blob(stmt, 1);
            size_t size = (size_t)sqlite3_column_bytes(stmt, 1);
            ok = prefixed_digest(ctx, 0x00, body ? body : (const unsigned char *)"", size, leaf);
        } else
            memset(leaf, 0, HASH_SIZE);
        if (first_bad < 0) {
            int kept_is_blob = sqlite3_column_type(stmt, 2) == SQLITE_BLOB;
            const unsigned char *kept = kept_is_blob ? sqlite3_column_blob(stmt, 2) : NULL;
            if (!body_is_blob || kept == NULL || sqlite3_column_bytes(stmt, 2) != HASH_SIZE || memcmp(kept, leaf, HASH_SIZE) != 0)
                first_bad = count;
        }
        count++;
    }
    if (rc == SQLITE_DONE || rc == SQLITE_ROW)
        rc = SQLITE_OK;
    Py_END_ALLOW_THREADS

    PyObject *result = NULL;
    if (rc != SQLITE_OK)
        PyErr_Format(PyExc_OSError, "sqlite_leaf_level: %s", db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
    else if (!ok)
        openssl_error();
    else {
        PyObject *leaves = PyBytes_FromStringAndSize((const char *)out, seq_problem ? 0 : count * HASH_SIZE);
        if (leaves != NULL)
            result = result_tuple(leaves, seq_problem, first_bad);
    }
    EVP_MD_CTX_free(ctx);
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    PyMem_RawFree(out);
    return result;
}

static PyObject *
node_level(PyObject *module, PyObject *args)
{
    Py_buffer level;
    if (!PyArg_ParseTuple(args, "y*:node_level", &level))
        return NULL;
    if (level.len % HASH_SIZE != 0) {
        PyBuffer_Release(&level);
        PyErr_SetString(PyExc_ValueError, "node_level: the level's length is not a multiple of 32");
        return NULL;
    }
    Py_ssize_t parents = level.len / HASH_SIZE / 2;
    PyObject *result = PyBytes_FromStringAndSize(NULL, parents * HASH_SIZE);
    if (result == NULL) {
        PyBuffer_Release(&level);
        return NULL;
    }
    const unsigned char *in = level.buf;
    unsigned char *out = (unsigned char *)PyBytes_AS_STRING(result);
    int ok = 1;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    Py_BEGIN_ALLOW_THREADS
    /* left || right are adjacent in the level: one 64-byte message after the prefix. */
    for (Py_ssize_t i = 0; ok && i < parents; i++)
        ok = ctx != NULL && prefixed_digest(ctx, 0x01, in + 2 * i * HASH_SIZE, 2 * HASH_SIZE, out + i * HASH_SIZE);
    Py_END_ALLOW_THREADS
    EVP_MD_CTX_free(ctx);
    PyBuffer_Release(&level);
    if (!ok) {
        Py_DECREF(result);
        return openssl_error();
    }
    return result;
}

static PyMethodDef methods[] = {
    {"leaf_level", leaf_level, METH_VARARGS,
     "leaf_level(rows, first_seq) -> (leaves, problem): leaf hashes of (seq, body, leaf_hash) rows, "
     "concatenated, and the first ('seq', i) or ('leaf', i) problem or None."},
    {"sqlite_leaf_level", sqlite_leaf_level, METH_VARARGS,
     "sqlite_leaf_level(path, first_seq, end_seq) -> (leaves, problem): leaf_level over the ledger rows "
     "[first_seq, end_seq) read straight from a SQLite file."},
    {"node_level", node_level, METH_VARARGS,
     "node_level(hashes) -> bytes: the RFC 6962 parents of consecutive pairs of concatenated hashes."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "_merkle", "Batch RFC 6962 hashing for the ledger verifier (see audit/fast_merkle.py).", -1, methods,
};

PyMODINIT_FUNC
PyInit__merkle(void)
{
    sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    if (sha256 == NULL) {
        PyErr_SetString(PyExc_ImportError, "OpenSSL has no SHA-256");
        return NULL;
    }
    return PyModule_Create(&module_def);
}
