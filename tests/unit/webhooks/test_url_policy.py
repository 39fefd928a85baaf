"""Where a webhook may go: http(s) without credentials, to public addresses only unless the operator allows the host."""

from __future__ import annotations

import pytest

from app.webhooks.url_policy import AllowList, UnsafeDestination, allowed_addresses, check_destination, url_problem


def resolver(table: dict[str, list[str]]):
    def resolve(host: str, port: int) -> list[str]:
        if host not in table:
            raise UnsafeDestination(f"host {host!r} does not resolve")
        return table[host]

    return resolve


PUBLIC = resolver({"hooks.example.com": ["93.184.215.14"], "v6.example.com": ["2606:2800:21f:cb07:6820:80da:af6b:8b2c"]})


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("ftp://hooks.example.com/x", "http:// or https://"),
        ("file:///etc/passwd", "http:// or https://"),
        ("https://user:pw@hooks.example.com/x", "credentials"),
        ("https://user@hooks.example.com/x", "credentials"),
        ("https:///path-only", "must name a host"),
        ("http://hooks.example.com:99999/", "not a valid URL"),
        ("https://hooks.example.com/" + "x" * 3000, "at most 2048"),
    ],
)
def test_urls_refused_before_any_lookup(url, problem):
    assert problem in (url_problem(url) or "")
    with pytest.raises(UnsafeDestination, match="."):
        check_destination(url, AllowList(), PUBLIC)


def test_a_public_https_url_passes():
    check_destination("https://hooks.example.com/llmjobs?x=1", AllowList(), PUBLIC)
    check_destination("http://v6.example.com:8080/", AllowList(), PUBLIC)


@pytest.mark.parametrize(
    "address",
    ["127.0.0.1", "10.1.2.3", "172.16.0.9", "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0", "::1", "fe80::1",
     "fc00::5", "::ffff:127.0.0.1", "224.0.0.1", "240.0.0.1"],
)  # fmt: skip
def test_non_public_addresses_are_refused(address):
    resolve = resolver({"internal.example.com": [address]})
    with pytest.raises(UnsafeDestination, match="not a public address.*LLMJOBS_WEBHOOK_ALLOW"):
        check_destination("https://internal.example.com/hook", AllowList(), resolve)
    literal = f"[{address}]" if ":" in address else address
    with pytest.raises(UnsafeDestination):
        check_destination(f"http://{literal}/hook", AllowList(), resolver({address: [address]}))


def test_a_name_with_one_private_address_among_public_ones_is_refused():
    resolve = resolver({"mixed.example.com": ["93.184.215.14", "10.0.0.7"]})
    with pytest.raises(UnsafeDestination, match="10.0.0.7"):
        check_destination("https://mixed.example.com/", AllowList(), resolve)


def test_an_unresolvable_host_is_refused():
    with pytest.raises(UnsafeDestination, match="does not resolve"):
        check_destination("https://nowhere.invalid/", AllowList(), PUBLIC)


def test_the_allow_list_takes_hosts_host_ports_and_networks():
    allow = AllowList.parse(" hooks.internal , 127.0.0.1:8080, 10.0.0.0/8, [::1]:9000 ")
    resolve = resolver({"hooks.internal": ["192.168.3.3"], "127.0.0.1": ["127.0.0.1"], "app.internal": ["10.9.8.7"], "::1": ["::1"],
                        "localhost": ["127.0.0.1"]})  # fmt: skip
    check_destination("http://hooks.internal/x", allow, resolve)  # the host, on any port
    check_destination("http://127.0.0.1:8080/x", allow, resolve)
    check_destination("http://localhost:8080/x", allow, resolve)  # a name resolving to an allowed address:port
    check_destination("http://app.internal:1234/x", allow, resolve)  # inside an allowed network
    check_destination("http://[::1]:9000/x", allow, resolve)
    with pytest.raises(UnsafeDestination):
        check_destination("http://127.0.0.1:8081/x", allow, resolve)  # the allowed address, another port
    assert allowed_addresses("hooks.internal", 443, allow, resolve) == ["192.168.3.3"]


def test_a_bad_network_in_the_allow_list_is_an_error():
    with pytest.raises(ValueError):
        AllowList.parse("10.0.0.0/33")
