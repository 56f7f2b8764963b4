"""Our compiled MinHash is datasketch's MinHash, value for value, on the real corpora; exact
verification agrees with Python sets; parameters that differ are refused, not mixed."""

from __future__ import annotations

import numpy as np
import pytest
from datasketch import MinHash, MinHashLSH
from dedup_truth import corpus_texts, jaccard, pairs_at_least, shingle_set

from curator.dedup import shingles as sh
from curator.dedup.engines import get_engine
from curator.errors import ConflictError, InputError
from curator.dedup.params import (DedupParams, IncompatibleSignatures, candidate_probability,
                                  check_compatible)

PARAMS = {
    "word5-p128-s1": DedupParams(),
    "char5-p128-s1": DedupParams(shingle="char", ngram=5),
    "word3-p64-s7": DedupParams(num_perm=64, seed=7, ngram=3),
}
# Texts the corpora may lack: shorter than one shingle, nothing but separators, non-ASCII and
# mixed case, digits glued to words, tabs and CRLF.
EDGE_TEXTS = ["", "!!! ??? ...", "a", "One two", "naïve café — RÉSUMÉ, Ærøskøbing!", "ÀB àb AB ab",
              "refunding$1499 refund 1499 dollars", "tab\tseparated\r\nlines\r\n", "x" * 3, "ok ok ok ok ok ok ok"]


def datasketch_minhash(text: str, params: DedupParams) -> MinHash:
    m = MinHash(num_perm=params.num_perm, seed=params.seed, hashfunc=sh.hashfunc(params), scheme="affine64")
    m.update_batch(sh.shingles(text, params))
    return m


@pytest.fixture(scope="module")
def texts(shared_data) -> dict[str, list[str]]:
    sample = corpus_texts(shared_data, per_corpus=200)
    return {**sample, "edge cases": EDGE_TEXTS}


@pytest.mark.parametrize("name", list(PARAMS))
def test_signatures_equal_datasketch_value_for_value(texts, name):
    params = PARAMS[name]
    checked = 0
    for corpus, batch in texts.items():
        sig, counts = sh.signatures(batch, params)
        assert sig.shape == (len(batch), params.num_perm) and sig.dtype == np.uint64
        for i, text in enumerate(batch):
            expected = datasketch_minhash(text, params)
            assert counts[i] == len(sh.shingles(text, params)), (corpus, i)
            if not np.array_equal(sig[i], expected.hashvalues):
                diff = int(np.count_nonzero(sig[i] != expected.hashvalues))
                pytest.fail(f"{corpus}[{i}] ({name}): {diff} of {params.num_perm} values differ from datasketch")
            checked += 1
    assert checked >= 5 * 150 + len(EDGE_TEXTS)


def test_arrow_input_and_batches_give_the_same_signatures(texts):
    """The store hands texts over as Arrow arrays (sliced, with nulls); the result must not depend on it."""
    import pyarrow as pa

    batch = texts["gpteacher"][:50] + [""]
    params = DedupParams()
    plain, _ = sh.signatures(batch, params)
    arr = pa.array(["ignored"] + batch + [None], pa.string()).slice(1, len(batch) + 1)
    from_arrow, counts = sh.signatures(arr, params)
    assert np.array_equal(from_arrow[:-1], plain)
    assert counts[-1] == 0 and np.all(from_arrow[-1] == np.uint64(2**64 - 1))  # null reads as empty


def test_empty_text_is_a_fresh_datasketch_minhash():
    for params in PARAMS.values():
        sig, counts = sh.signatures(["", "  \n ", "---"], params)
        fresh = MinHash(num_perm=params.num_perm, seed=params.seed, scheme="affine64").hashvalues
        assert counts.tolist() == [0, 0, 0]
        assert np.all(sig == np.uint64(2**64 - 1)) and all(np.array_equal(row, fresh) for row in sig)


def test_compiled_jaccard_matches_python_sets(texts):
    """Exact verification (what decides precision) is the Jaccard of Python sets of the shingles,
    for repeated shingles, empty and one-shingle texts and a text paired with itself."""
    params = DedupParams()
    batch = texts["bitext-support"][:120] + texts["contractnli"][:30] + EDGE_TEXTS
    rng = np.random.default_rng(3)
    left, right = rng.integers(0, len(batch), 400), rng.integers(0, len(batch), 400)
    left[:5] = right[:5]
    got = sh.pair_jaccard(batch, left, right, params)
    py = [shingle_set(batch[a], params) for a in range(len(batch))]
    assert got.tolist() == pytest.approx([jaccard(py[a], py[b]) for a, b in zip(left, right)], abs=1e-12)


def test_stored_layout_loads_as_lean_minhash_and_datasketch_lsh_agrees(texts):
    """uint64 little-endian bytes (the BLOB layout) round-trip into LeanMinHash, and datasketch's
    own index over them finds what our exact join says is there."""
    params = DedupParams()
    batch = texts["contractnli"]
    sig, _ = sh.signatures(batch, params)
    blobs = [row.astype("<u8").tobytes() for row in sig]
    lsh = MinHashLSH(threshold=0.8, num_perm=params.num_perm)
    leans = []
    for i, blob in enumerate(blobs):
        lean = sh.to_lean(np.frombuffer(blob, dtype="<u8"), params)
        assert lean.seed == params.seed and lean.scheme == "affine64"
        assert np.array_equal(lean.hashvalues, datasketch_minhash(batch[i], params).hashvalues)
        lsh.insert(i, lean)
        leans.append(lean)
    truth = pairs_at_least({i: shingle_set(t, params) for i, t in enumerate(batch)}, 0.95)
    assert truth, "the sample holds the contractnli near-duplicate NDAs"
    for a, b in truth:
        assert b in lsh.query(leans[a]) and a in lsh.query(leans[b])
        assert leans[a].jaccard(leans[b]) >= 0.9


def test_different_parameters_are_refused():
    a, b = DedupParams(), DedupParams(ngram=3, num_perm=64)
    check_compatible(a.key, DedupParams(threshold=0.5).key)  # the threshold is not part of a signature
    with pytest.raises(IncompatibleSignatures) as err:
        check_compatible(a.key, b.key)
    message = str(err.value)
    assert a.key in message and b.key in message and "--ngram" in message
    assert isinstance(err.value, ConflictError)  # a CuratorError: one line at the CLI, a 409 at the API
    assert len({p.key for p in PARAMS.values()}) == len(PARAMS)
    with pytest.raises(ValueError, match="--ngram 3"):
        DedupParams(shingle="char", ngram=2)
    with pytest.raises(ValueError):
        DedupParams(extra_option=1)
    with pytest.raises(InputError, match="choose local or ray"):
        get_engine("spark")


@pytest.mark.parametrize("threshold", [0.5, 0.7, 0.8, 0.9, 0.95])
@pytest.mark.parametrize("num_perm", [64, 128, 256])
def test_bands_are_datasketchs_choice_weighted_for_recall(threshold, num_perm):
    """Candidates are verified exactly, so banding is tuned for recall: datasketch's MinHashLSH
    with recall-heavy weights picks the bands, and a pair at exactly the threshold shares a band
    with high probability (datasketch's equal weights give 0.40 at 0.8)."""
    from datasketch import MinHashLSH

    from curator.dedup.params import LSH_WEIGHTS

    params = DedupParams(threshold=threshold, num_perm=num_perm)
    index = MinHashLSH(threshold=threshold, num_perm=num_perm, weights=LSH_WEIGHTS)
    assert params.bands_rows == (index.b, index.r)
    bands, rows = params.bands_rows
    assert bands * rows <= num_perm
    assert candidate_probability(threshold, bands, rows) >= 0.9
    assert params.model_copy(update={"threshold": 1.0}).bands_rows == (1, num_perm)


def test_default_bands_catch_a_pair_at_the_threshold():
    assert candidate_probability(0.8, *DedupParams().bands_rows) >= 0.95


def test_signature_blobs_load_chunk_by_chunk_and_refuse_another_width():
    """The store's BLOBs come back as Arrow binary in several chunks (and, past 2 GiB, must not be
    combined into one array); a blob of another width is another parameter set, refused."""
    import pyarrow as pa

    from curator.dedup.run import signatures_matrix

    params = DedupParams(num_perm=64)
    sig, _ = sh.signatures([f"text number {i} of the batch" for i in range(10)], params)
    blobs = [row.astype("<u8").tobytes() for row in sig]
    for kind in (pa.binary(), pa.large_binary()):
        chunked = pa.chunked_array([pa.array(blobs[:3], kind), pa.array([], kind),
                                    pa.array(["x"] + blobs[3:], kind).slice(1)])
        table = pa.table({"row_id": pa.chunked_array([list(range(3)), [], list(range(3, 10))], pa.int64()),
                          "hashvalues": chunked})
        ids, loaded = signatures_matrix(table, 64)
        assert ids.tolist() == list(range(10)) and np.array_equal(loaded, sig)
    empty = pa.table({"row_id": pa.array([], pa.int64()), "hashvalues": pa.array([], pa.binary())})
    assert signatures_matrix(empty, 64)[1].shape == (0, 64)
    with pytest.raises(IncompatibleSignatures, match="not 128 values wide"):
        signatures_matrix(table, 128)


def test_rows_are_put_in_id_order_in_place():
    """The signature matrix is reordered without a second copy, to the same result as indexing."""
    from curator.dedup.signing import sorted_by_id

    rng = np.random.default_rng(7)
    ids = rng.permutation(5000).astype(np.int64) * 3
    sig = rng.integers(0, 2**63, size=(5000, 16), dtype=np.uint64)
    want = sig[np.argsort(ids, kind="stable")].copy()
    buffer = sig.__array_interface__["data"][0]
    got_ids, got = sorted_by_id(ids, sig)
    assert np.array_equal(got_ids, np.sort(ids)) and np.array_equal(got, want)
    assert got.__array_interface__["data"][0] == buffer  # the same memory, reordered
