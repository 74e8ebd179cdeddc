"""TEMPORARY reviewer scratch probes (deleted after review)."""
from tenantguard.audit.services import audit_event_record
from tenantguard.audit.verify import audit_chain_verify


def test_probe_big_and_odd(db, tenant):
    audit_event_record(actor=None, action="x", tenant=tenant, subject_label="  trailing ünïcode 😀  \t", details={"a": 2**70, "b": [1e-320, 123456789.123456789, 1e22, 1e23, -1.5e-10, 5e-324, 1.7976931348623157e308, 0.30000000000000004, 100.0, -0.0], "c": {"z": 1, "ä": 2, "A": 3, "\U0001f600": "😀", "": None}, "d": None, "e": True, "f": "e\u0301 vs é", "g": "\u2028\u2029\x7f\x01"})
    r = audit_chain_verify()
    assert r.intact, r.problems
