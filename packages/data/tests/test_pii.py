import pytest

from lmforge.data import IP_MASK, PHONE_MASK, mask_emails, mask_ips, mask_phone_numbers


@pytest.mark.parametrize(
    "number",
    [
        "2831823829",
        "(283)-182-3829",
        "(283) 182 3829",
        "283-182-3829",
        "283 182 3829",
        "283.182.3829",
        "(283)182-3829",
        "+1 283-182-3829",
    ],
)
def test_phone_formats(number):
    masked, n = mask_phone_numbers(f"Call me at {number}, thanks.")
    assert (masked, n) == (f"Call me at {PHONE_MASK}, thanks.", 1)


def test_phone_not_inside_longer_digit_runs():
    for text in ["order 128318238291", "card 4111111111111111", "year 2023", "1-800-FLOWERS"]:
        assert mask_phone_numbers(text) == (text, 0)


def test_emails_keep_punctuation_and_count():
    text = "Write to (alice.smith+x@mail.example.co.uk), or bob@example.com."
    assert mask_emails(text) == ("Write to (|||EMAIL_ADDRESS|||), or |||EMAIL_ADDRESS|||.", 2)
    assert mask_emails("no at-sign here, nor @handle or a@b") == ("no at-sign here, nor @handle or a@b", 0)


def test_ips_octet_range_and_boundaries():
    assert mask_ips("hosts 10.0.0.1, 192.168.255.255.") == (f"hosts {IP_MASK}, {IP_MASK}.", 2)
    for text in ["256.1.1.1", "1.2.3.4.5", "version 1.2.3", "999.999.999.999"]:
        assert mask_ips(text) == (text, 0)


def test_no_double_counting_of_masks():
    text = "mail a@b.org, call 283-182-3829, host 8.8.8.8"
    once_e, n_e = mask_emails(text)
    once_p, n_p = mask_phone_numbers(once_e)
    once_i, n_i = mask_ips(once_p)
    assert (n_e, n_p, n_i) == (1, 1, 1)
    # Masking the masked text again finds nothing new, and existing masks are not counted.
    assert mask_emails(once_i) == (once_i, 0)
    assert mask_phone_numbers(once_i) == (once_i, 0)
    assert mask_ips(once_i) == (once_i, 0)


def test_adjacent_numbers_are_all_masked_in_one_pass():
    masked, n = mask_phone_numbers("2831823829+12831823829")
    assert n == 2 and "2" not in masked
