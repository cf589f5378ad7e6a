/*
 * store.h — the private memory's store: every ingested source, its chunks
 * and (sensor logs) readings in one SQLite database, searched by BM25
 * (FTS5), by embedding vectors (int8, scanned in memory), or both fused.
 *
 * Layout: DIR/memory.db in WAL mode (with DIR/memory.db-wal and -shm).
 * Folders the store creates are 0700, the database 0600 whatever the
 * umask (an existing one loses group and other permissions); SQLite gives
 * the -wal and -shm files the database's mode. Tables (schema version
 * MEM_STORE_SCHEMA in PRAGMA user_version; store.c has the DDL):
 *   sources   one row per file: path, kind, content hash, size, mtime,
 *             when ingested, chunk and reading counts, status, warnings
 *   chunks    the text to cite and where it is (lines, message, time)
 *   chunks_fts  FTS5 index over chunks' text and title (external content)
 *   vectors   each chunk's embedding as int8 + one float scale
 *   readings  sensor logs' values (series, time, value)
 *   meta      key/value: embedding model and dimension, last update
 *
 * Consistency: mem_store_put replaces a source (its row, chunks, vectors,
 * readings, content hash) in ONE transaction, so after a crash or kill -9
 * a source is either its old version or its new one. The content hash is
 * written in that same transaction: a file whose ingest was killed still
 * has its old hash (or none), so the next ingest sees it changed and
 * redoes it. synchronous=NORMAL (see store.c): a power cut may lose the
 * last commits (re-ingested next time, as above) but never corrupts.
 *
 * A mem_store is used by one thread at a time. Several processes may open
 * the same folder (SQLite locks; a writer waits up to MEM_STORE_BUSY_MS);
 * a search notices another process's commits and reloads its vectors.
 *
 * Every call returns a mote_status and leaves a message naming the
 * database ("memory: DIR/memory.db: ..."); nothing is printed.
 */
#ifndef MOTE_MEMORY_STORE_H
#define MOTE_MEMORY_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "memory/doc.h"
#include "mote.h"

#define MEM_STORE_SCHEMA 1      /* PRAGMA user_version this code writes and reads */
#define MEM_STORE_DB "memory.db" /* the database's name in the store's folder */
#define MEM_STORE_BUSY_MS 5000  /* how long a write waits for another process's */
#define MEM_HASH_HEX 64         /* hex digits of a content hash (SHA-256) */
#define MEM_SEARCH_K_MAX 256    /* most hits one search returns */
#define MEM_MODEL_NAME_MAX 256  /* bytes of an embedding model's name, with the NUL */

typedef struct mem_store mem_store;

struct mem_vault;

typedef struct mem_store_opts {
    const char *vfs; /* SQLite VFS to open the database with, or NULL for the default */
    struct mem_vault *vault; /* an encrypted store: opened through the vault (vault.h),
                              * which must outlive the store; NULL: a plain one */
} mem_store_opts;

/* Open (creating if needed) the store in folder dir. opts may be NULL.
 * Fails with MOTE_E_FORMAT for a file that is not a memory database (or
 * is corrupt) and MOTE_E_UNSUPPORTED for one written by a newer mote. */
mote_status mem_store_open(const char *dir, const mem_store_opts *opts, mem_store **out);
void mem_store_close(mem_store *st);

/* ------------------------------------------------------------------------
 * Content hashes: SHA-256 (libsodium crypto_hash_sha256) as 64 lowercase
 * hex digits, the same as sha256sum prints.
 * ---------------------------------------------------------------------- */

void mem_hash_bytes(const void *data, size_t n, char hex[MEM_HASH_HEX + 1]);
mote_status mem_hash_file(const char *path, char hex[MEM_HASH_HEX + 1]);

/* ------------------------------------------------------------------------
 * Sources
 * ---------------------------------------------------------------------- */

/* What the caller knows of the file it read, stored with its chunks. */
typedef struct mem_source_stamp {
    const char *hash; /* content hash of the file's bytes (mem_hash_file), MEM_HASH_HEX hex digits */
    int64_t size;     /* bytes */
    int64_t mtime;    /* modification time, Unix seconds */
} mem_source_stamp;

/* A stored source, as mem_store_sources lists it. */
typedef struct mem_source_info {
    char *path;                    /* as given to mem_store_put (doc->source) */
    enum mem_kind kind;
    char hash[MEM_HASH_HEX + 1];   /* content hash */
    int64_t size;                  /* bytes */
    int64_t mtime;                 /* Unix seconds */
    int64_t ingested_at;           /* Unix seconds of the put */
    int n_chunks;                  /* chunks stored (each has a vector if the put had them) */
    int64_t n_readings;            /* sensor readings stored */
    int complete;                  /* 1: status 'complete' (always, see store.c) */
    char *warnings;                /* what ingest skipped (doc->warnings), or NULL */
} mem_source_info;

/* The content hash stored for path, and *exists 1; or *exists 0 and hash
 * "" if the store has no such source. An unchanged file (same hash) need
 * not be ingested again. */
mote_status mem_store_source_state(mem_store *st, const char *path, char hash[MEM_HASH_HEX + 1], int *exists);

/* Tell the store which embedding model makes its vectors. The first call
 * (or first put with vectors) records it; afterwards a different model or
 * dimension is refused (MOTE_E_INVALID, naming both): vectors of two
 * models cannot be compared, so the memory must be rebuilt instead. */
mote_status mem_store_embedder(mem_store *st, const char *model, int dim);

/* A setting kept in the store (its meta table): key's value into buf
 * (cap bytes), *found 0 and "" if absent; set replaces it. Keys the store
 * itself uses (embed_model, embed_dim, updated_at) are refused. */
mote_status mem_store_meta_get(mem_store *st, const char *key, char *buf, size_t cap, int *found);
mote_status mem_store_meta_set(mem_store *st, const char *key, const char *value);

/* Replace source doc->source with doc: its chunks, their vectors and its
 * readings, in one transaction. vectors: doc->n_chunks rows of dim floats
 * (L2-normalised embeddings; stored as int8, see store_vec.h), or NULL
 * with dim 0 for no vectors. dim must match the store's (set by the first
 * vectors or mem_store_embedder). On failure nothing changed. */
mote_status mem_store_put(mem_store *st, const mem_doc *doc, const mem_source_stamp *stamp, const float *vectors,
                          int dim);

/* For a changed file, the vectors it already has: for each chunk of doc
 * whose text is that of a chunk stored for doc->source now (same SHA-256)
 * with a vector of dim, that vector (dequantised: q * scale, which
 * quantises back to the same bytes) into row i of vectors (n_chunks x
 * dim) and known[i] = 1; else known[i] = 0 and row i untouched. *n_known
 * counts the 1s. The caller embeds only the others, then puts. */
mote_status mem_store_known_vectors(mem_store *st, const mem_doc *doc, int dim, float *vectors, int *known,
                                    int *n_known);

/* Delete source path and everything stored from it; *removed (may be
 * NULL) says whether it was there. */
mote_status mem_store_remove(mem_store *st, const char *path, int *removed);

/* The stored sources whose path starts with prefix (bytes; NULL or "" for
 * all; end it with '/' to mean a folder), sorted by path: *out is a
 * malloc'd array of *n (free with mem_sources_free). A caller syncing a
 * folder removes the listed sources whose files are gone. */
mote_status mem_store_sources(mem_store *st, const char *prefix, mem_source_info **out, int *n);
void mem_sources_free(mem_source_info *s, int n);

/* ------------------------------------------------------------------------
 * Search
 * ---------------------------------------------------------------------- */

enum mem_search_mode {
    MEM_SEARCH_HYBRID, /* reciprocal rank fusion of the BM25 and vector rankings (rank.h) */
    MEM_SEARCH_BM25,   /* the text's words, FTS5 BM25 (words held by more than a fifth of the
                        * chunks, and 2000 of them, left out when rarer ones are there; common
                        * words only: the chunks holding all of them first; store_terms.c) */
    MEM_SEARCH_VECTOR, /* the query vector, approximate cosine */
};

typedef struct mem_query {
    enum mem_search_mode mode;
    const char *text;        /* the user's words (any bytes; never read as FTS5 syntax), or NULL */
    const float *vec;        /* query embedding (dim floats, L2-normalised), or NULL */
    int dim;                 /* elements of vec */
    /* Filters (all that are set must hold): */
    const char *path_prefix; /* source path starts with these bytes, or NULL */
    int kind;                /* enum mem_kind, or -1 for any */
    int has_time;            /* 1: only chunks whose time window overlaps [t_lo, t_hi) */
    int64_t t_lo, t_hi;      /* Unix seconds; a chunk's window is [t_lo, t_hi), or the second
                              * at t_lo when t_hi <= t_lo (a mail's Date); chunks without a
                              * time (both 0) fail a time filter */
} mem_query;

/* One hit, with everything a citation needs. The strings are malloc'd
 * (free with mem_hits_free). */
typedef struct mem_hit {
    int64_t chunk_id;
    double score;        /* hybrid: the RRF score; bm25: -bm25() (higher is better);
                          * vector: approximate cosine (int8 dot x both scales) */
    int rank_bm25;       /* 1-based rank in the BM25 candidates, 0 if absent */
    int rank_vec;        /* 1-based rank in the vector candidates, 0 if absent */
    char *source;        /* the source's path */
    enum mem_kind kind;
    char *title;         /* or NULL */
    int line_lo, line_hi; /* as mem_chunk */
    char *msg_id;        /* or NULL */
    int64_t t_lo, t_hi;  /* as mem_chunk */
    char *text;          /* the chunk's text */
} mem_hit;

/* How many candidates each ranking contributes to a search for k hits:
 * max(4 k, 50), so that fusion sees well past the top k of each list. */
int mem_search_candidates(int k);

/* The best k (1..MEM_SEARCH_K_MAX) chunks for q, best first, into hits
 * (room for k); *n_hits <= k. Ties go to the smaller chunk id. Blank text
 * gives an empty BM25 ranking, and a NULL vec (or a store without
 * vectors yet) an empty vector ranking; a vec whose dim is not the
 * store's is refused. */
mote_status mem_store_search(mem_store *st, const mem_query *q, mem_hit *hits, int k, int *n_hits);
void mem_hits_free(mem_hit *hits, int n);

/* ------------------------------------------------------------------------
 * State
 * ---------------------------------------------------------------------- */

typedef struct mem_store_stats {
    int64_t n_sources, n_chunks, n_readings, n_vectors;
    int64_t db_bytes;    /* memory.db's size */
    int64_t wal_bytes;   /* memory.db-wal's size (0 if none) */
    int64_t updated_at;  /* Unix seconds of the last put or remove, 0 if none */
    char embed_model[MEM_MODEL_NAME_MAX]; /* "" if none recorded */
    int embed_dim;       /* 0 if none */
} mem_store_stats;

mote_status mem_store_status(mem_store *st, mem_store_stats *out);

/* Check the database: SQLite's integrity_check and foreign keys, the FTS5
 * index against the chunks, every source complete with as many chunks as
 * it records, every vector dim bytes. MOTE_E_FORMAT naming the first
 * problem. */
mote_status mem_store_verify(mem_store *st);

#endif
