from haven.dedupe.scoring import encode_many, encode_one
from haven.matching.encodings import clear_hasher
from haven.matching.records import match_record


def test_encode_many_matches_encode_one():
    recs = [
        match_record(
            id=str(i),
            name=n,
            birth_year=y,
            birth_month=None,
            birth_day=None,
            sex="female",
            origin="청진",
            occupation=None,
            broker=None,
        )
        for i, (n, y) in enumerate([("김선희", 1990), ("Pak Yong-chol", 1985), ("리순옥", None)])
    ]
    many = encode_many(records=recs, hasher_for=clear_hasher)
    for r, p in zip(recs, many, strict=True):
        assert encode_one(record=r, hasher_for=clear_hasher) == p
