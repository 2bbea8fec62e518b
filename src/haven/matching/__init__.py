"""Finding the same person twice: Korean-aware name normalisation, record linkage and
deduplication on keyed encodings, and private linkage with a partner. Pure Python and numpy; no
Django models, no keys (keyed hashes come from :mod:`haven.crypto` as closures).

API summary (every public function takes keyword arguments)
-----------------------------------------------------------
Records and encodings::

    from haven.matching.records import match_record, MatchRecord
    from haven.matching.encodings import encode_records, EncodedTable, clear_hasher

    rec = match_record(id="case-17", name="Kim Sun-hui", birth_year=1990, birth_month=3,
                       birth_day=None, sex="f", origin="Hamgyong", occupation="restaurant",
                       group="g-4", broker="b-2", extra={"workplace": "Ningbo"},
                       other_spellings=["Kim Seon-hui"])  # the same name spelled otherwise
    table = encode_records(records=[rec, ...], hasher_for=index_key.keyed_hasher,
                           extra_fields=(), block_on=(), keep_records=False)

``hasher_for`` is ``haven.crypto.IndexKey.keyed_hasher`` (the organisation's index key) or
``haven.crypto.LinkageSecret.keyed_hasher`` (a private linkage); ``clear_hasher`` is unkeyed,
for tests and the clear-value baseline only. An :class:`EncodedTable` holds numpy arrays only
(Bloom filters, 64-bit tokens, blocking tokens) and the local ids.

Matching (:mod:`haven.matching.engine`)::

    result = find_duplicates(table=table)                  # within one table: pairs + clusters
    result = link_tables(left=table_a, right=table_b)       # two tables, one-to-one
    result.pairs()        -> [ProposedMatch(left_id, right_id, probability, weight)], best first
    result.explain(k)     -> Explanation: each field's level, label and weight; guard applied
    result.groups()       -> [[id, id, ...], ...] dedupe clusters of two or more
    result.model          -> MatchModel (m/u per field and level, prior, threshold)

Options of both: ``threshold`` (probability; 0.99 for dedupe, 0.9 for linking), ``clear_names``
(compare names with the full Korean rules; tables made with ``keep_records=True``),
``max_block`` (40 for dedupe, 100 per file for linking), ``name_parts`` and ``ignore_fields``
(for data with separate surname / given-name fields), ``min_name_level``, ``seed``.

Stored encodings: encode each person when saved (``encode_records`` on one record), keep the
arrays, and rebuild a table for a pass with ``concat_tables([...])`` (or construct
``EncodedTable`` from the stored arrays). For a handful of pairs without training (the request
page, a small organisation): ``default_model(fields=field_names(table))`` from
:mod:`haven.matching.model`, then ``compare_pairs(left=, right=, i=, j=)`` from
:mod:`haven.matching.compare` and ``model.score(comps.levels, comps.name_frequency)``;
``explain(model=, levels=, left_id=, right_id=, name_frequency=)`` from
:mod:`haven.matching.explain`. Level meanings: ``haven.matching.compare.LABELS``.

Private linkage (:mod:`haven.matching.linkage`)::

    secret = LinkageSecret.from_passphrase(passphrase, linkage="ngo-ministry-2026")
    n = encode_linkage_file(records=records, secret=secret, out=text_file)
    table = load_linkage_file(lines=open_file, secret=secret, name="partner.jsonl")
    pairs, result = match_linkage_files(left=ours, right=theirs)

``load_linkage_file`` raises ``LinkageFileError`` (a ``ValueError`` with a message naming the
file, line and problem) for malformed files and for files made under another secret.

Names (:mod:`haven.matching.names`): ``normalise_name``, ``name_similarity``,
``explain_name_match``, ``same_name``. See docs/linkage.md for how matching works and how to read
a score.
"""
