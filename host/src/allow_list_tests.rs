//! Unit tests of the outbound allow-list.

use super::*;

fn rule(text: &str) -> Rule {
    Rule::parse(text).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn rules_parse_with_default_and_explicit_ports() {
    let r = rule("https://API.example.com");
    assert_eq!(r.scheme, "https");
    assert_eq!(r.host, HostPattern::Name("api.example.com".into()));
    assert_eq!(r.port, Some(443));
    assert_eq!(
        rule("http://127.0.0.1:8080").host,
        HostPattern::Ip([127, 0, 0, 1].into())
    );
    assert_eq!(rule("http://127.0.0.1:8080").port, Some(8080));
    assert_eq!(
        rule("https://*.example.org").host,
        HostPattern::Wildcard("example.org".into())
    );
    assert_eq!(rule("postgres://db.internal").port, Some(5432));
    assert_eq!(rule("https://api.example.com:*").port, None);
    assert_eq!(
        rule("http://[::1]:9000").host,
        HostPattern::Ip("::1".parse().expect("v6"))
    );
}

#[test]
fn bad_rules_say_what_is_wrong() {
    let reason = |t: &str| Rule::parse(t).expect_err(t).reason;
    assert!(reason("api.example.com").contains("scheme://host"));
    assert!(reason("https://*").contains("not allowed"));
    assert!(reason("https://example.com/path").contains("no path"));
    assert!(reason("https://example.com:99999").contains("port"));
    assert!(reason("https://example.com:0").contains("port"));
    assert!(reason("custom://db.example.com").contains("no default port"));
    assert!(reason("https://exa mple.com").contains("DNS name"));
    assert!(reason("https://user@example.com").contains("no path"));
}

#[test]
fn matching_is_exact_on_scheme_port_and_name() {
    let r = rule("https://api.example.com");
    assert!(r.matches("https", "api.example.com", 443));
    assert!(r.matches("HTTPS", "API.Example.com", 443));
    assert!(!r.matches("http", "api.example.com", 443));
    assert!(!r.matches("https", "api.example.com", 8443));
    assert!(!r.matches("https", "api.example.com.evil.net", 443));
    assert!(!r.matches("https", "evilapi.example.com", 443));
}

#[test]
fn wildcards_cover_subdomains_only() {
    let r = rule("https://*.example.org");
    assert!(r.matches("https", "a.example.org", 443));
    assert!(r.matches("https", "a.b.example.org", 443));
    assert!(!r.matches("https", "example.org", 443));
    assert!(!r.matches("https", "badexample.org", 443));
    assert!(!r.matches("https", "a.example.org.evil.net", 443));
}

#[test]
fn ip_literals_match_as_written_not_as_names() {
    let r = rule("http://127.0.0.1:8080");
    assert!(r.matches("http", "127.0.0.1", 8080));
    assert!(!r.matches("http", "localhost", 8080));
    let name = rule("http://localhost:8080");
    assert!(!name.matches("http", "127.0.0.1", 8080));
    let v6 = rule("http://[::1]:8080");
    assert!(v6.matches("http", "[::1]", 8080));
}

#[test]
fn internal_addresses_need_an_exact_rule() {
    for internal in [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "::1",
        "fd00::1",
        "fe80::1",
        "::ffff:169.254.169.254",
        "::169.254.169.254",
        "64:ff9b::a9fe:a9fe",
        "2002:a9fe:a9fe::1",
        "2002:7f00:1::",
    ] {
        assert!(is_internal(internal.parse().expect("ip")), "{internal}");
    }
    for public in [
        "93.184.216.34",
        "1.1.1.1",
        "2606:4700::1111",
        "64:ff9b::5db8:d822",
        "2002:5db8:d822::",
    ] {
        assert!(!is_internal(public.parse().expect("ip")), "{public}");
    }
    let metadata: IpAddr = "169.254.169.254".parse().expect("ip");
    assert!(!rule("http://*.example.org").may_reach(metadata));
    assert!(rule("http://metadata.example.org").may_reach(metadata));
    assert!(rule("http://169.254.169.254").may_reach(metadata));
    assert!(rule("http://*.example.org").may_reach("93.184.216.34".parse().expect("ip")));
}

#[test]
fn sockets_match_listed_addresses_and_resolved_names() {
    let list = AllowList::parse(&[
        "https://api.example.com",
        "postgres://db.internal:5432",
        "redis://10.0.0.5:*",
    ])
    .expect("parse");
    assert!(list.has_sockets());
    let resolved = |name: &str| match name {
        "db.internal" => vec!["10.0.0.9".parse().expect("ip")],
        _ => vec![],
    };
    let db: IpAddr = "10.0.0.9".parse().expect("ip");
    assert_eq!(
        list.find_socket(db, 5432, resolved)
            .map(|r| r.text.as_str()),
        Some("postgres://db.internal:5432")
    );
    assert!(list.find_socket(db, 5433, resolved).is_none());
    assert!(
        list.find_socket("10.0.0.5".parse().expect("ip"), 6380, resolved)
            .is_some()
    );
    // HTTP rules never open raw sockets.
    assert!(
        list.find_socket("93.184.216.34".parse().expect("ip"), 443, resolved)
            .is_none()
    );
    assert!(
        !AllowList::parse(&["https://a.example.com"])
            .expect("parse")
            .has_sockets()
    );
    // Names a guest may resolve: socket grants' hosts only.
    assert!(list.socket_names("DB.internal"));
    assert!(
        !list.socket_names("api.example.com"),
        "an HTTP grant resolves on the host"
    );
    assert!(!list.socket_names("10.0.0.5"));
}

#[test]
fn an_exact_grant_is_found_even_after_a_wildcard() {
    let list = AllowList::parse(&["https://*.corp.com", "https://db.corp.com"]).expect("parse");
    let rule = list.find("https", "db.corp.com", 443).expect("covered");
    assert_eq!(rule.text, "https://db.corp.com");
    assert!(rule.may_reach("10.1.2.3".parse().expect("ip")));
    assert_eq!(
        list.find("https", "www.corp.com", 443)
            .map(|r| r.text.as_str()),
        Some("https://*.corp.com")
    );
}
