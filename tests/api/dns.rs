//! pdns.php over real zones, in both request dialects, and the emulator's DNS server
//! answering from the same database: real DNS messages over UDP and TCP to the server
//! started on 127.0.0.1:0, as `dig` or a resolver would send them.

use std::net::SocketAddr;
use std::time::Duration;

use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{Name, RData, RecordType};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

use crate::helpers::*;

/// How long a test waits for a DNS answer before it fails (a bound, never a pause).
const WAIT: Duration = Duration::from_secs(5);

fn query(name: &str, rtype: RecordType) -> Vec<u8> {
    let mut m = Message::new();
    m.set_id(rand_id())
        .set_message_type(MessageType::Query)
        .set_op_code(OpCode::Query)
        .set_recursion_desired(true);
    m.add_query(Query::query(Name::from_ascii(name).expect("name"), rtype));
    m.to_vec().expect("query")
}

fn rand_id() -> u16 {
    use std::sync::atomic::{AtomicU16, Ordering};
    static NEXT: AtomicU16 = AtomicU16::new(4242);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// One UDP exchange; `None` when no answer came within [`WAIT`].
async fn udp_raw(server: SocketAddr, packet: &[u8]) -> Option<Vec<u8>> {
    let socket = UdpSocket::bind("127.0.0.1:0").await.expect("udp");
    socket.send_to(packet, server).await.expect("send");
    let mut buf = vec![0u8; 65_535];
    let n = tokio::time::timeout(WAIT, socket.recv(&mut buf))
        .await
        .ok()?
        .expect("recv");
    buf.truncate(n);
    Some(buf)
}

/// Asks over UDP and parses the answer, checking it answers this question.
async fn dig(server: SocketAddr, name: &str, rtype: RecordType) -> Message {
    let q = query(name, rtype);
    let bytes = udp_raw(server, &q).await.expect("an answer over UDP");
    let m = Message::from_vec(&bytes).expect("a DNS answer");
    assert_eq!(m.id(), u16::from_be_bytes([q[0], q[1]]));
    assert_eq!(m.message_type(), MessageType::Response);
    m
}

/// Sends length-prefixed messages over one TCP connection; reads `answers` answers.
async fn tcp(server: SocketAddr, packet: &[u8], answers: usize) -> Vec<Message> {
    let mut s = TcpStream::connect(server).await.expect("tcp");
    let len = u16::try_from(packet.len()).expect("len").to_be_bytes();
    s.write_all(&len).await.expect("write");
    s.write_all(packet).await.expect("write");
    let mut out = Vec::new();
    for _ in 0..answers {
        let mut len = [0u8; 2];
        tokio::time::timeout(WAIT, s.read_exact(&mut len))
            .await
            .expect("in time")
            .expect("len");
        let mut buf = vec![0u8; usize::from(u16::from_be_bytes(len))];
        s.read_exact(&mut buf).await.expect("body");
        out.push(Message::from_vec(&buf).expect("a DNS answer"));
    }
    out
}

fn txts(m: &Message) -> Vec<String> {
    m.answers()
        .iter()
        .filter_map(|r| match r.data() {
            RData::TXT(t) => Some(
                t.txt_data()
                    .iter()
                    .map(|s| String::from_utf8_lossy(s).into_owned())
                    .collect::<String>(),
            ),
            _ => None,
        })
        .collect()
}

fn addresses(m: &Message) -> Vec<String> {
    let mut v: Vec<String> = m
        .answers()
        .iter()
        .filter_map(|r| match r.data() {
            RData::A(a) => Some(a.0.to_string()),
            RData::AAAA(a) => Some(a.0.to_string()),
            _ => None,
        })
        .collect();
    v.sort();
    v
}

/// The SOA serial in the authority section of a negative answer.
fn authority_soa(m: &Message) -> Option<u32> {
    m.name_servers().iter().find_map(|r| match r.data() {
        RData::SOA(s) => Some(s.serial()),
        _ => None,
    })
}

async fn pdns(app: &TestApp, form: &[(&str, &str)]) -> Value {
    app.call("pdns", form).await
}

#[tokio::test]
async fn an_acme_challenge_added_by_the_provider_is_served_then_gone_after_delete() {
    let app = TestApp::spawn().await;
    let t = app.demo_token().await;
    let added = pdns(
        &app,
        &[
            ("action", "add_domain"),
            ("token", &t),
            ("params[name]", "acme-test.example"),
        ],
    )
    .await;
    assert_eq!(added["result"], "OK", "{added}");
    assert_eq!(added["module"], "pdns");
    assert_eq!(added["action"], "add_domain");
    let id = added["data"]["id"]
        .as_i64()
        .expect("data is an object with a numeric id");
    assert_eq!(added["data"]["name"], "acme-test.example");

    let v = pdns(
        &app,
        &[
            ("action", "add_dns"),
            ("token", &t),
            ("params[zone]", "acme-test.example"),
            ("params[name]", "_acme-challenge"),
            ("params[type]", "TXT"),
            ("params[content][]", "gfj9Xq...Rg85nM"),
            ("params[ttl]", "120"),
        ],
    )
    .await;
    assert_eq!(v["result"], "OK", "{v}");

    let answer = dig(
        app.dns,
        "_acme-challenge.acme-test.example.",
        RecordType::TXT,
    )
    .await;
    assert_eq!(answer.response_code(), ResponseCode::NoError);
    assert!(answer.authoritative());
    assert_eq!(txts(&answer), ["gfj9Xq...Rg85nM"]);
    assert_eq!(answer.answers()[0].ttl(), 120);

    // The provider reads its record back from view_zone: relative name, content as sent.
    let zone = pdns(
        &app,
        &[
            ("action", "view_zone"),
            ("token", &t),
            ("params[zone]", "acme-test.example"),
        ],
    )
    .await;
    assert_eq!(zone["data"]["id"], id, "{zone}");
    let records = zone["data"]["records"].as_array().expect("records");
    let rec = records
        .iter()
        .find(|r| r["type"] == "TXT")
        .expect("the TXT record");
    assert_eq!(rec["name"], "_acme-challenge");
    assert_eq!(rec["content"], "gfj9Xq...Rg85nM");
    assert_eq!(rec["ttl"], 120);
    assert_eq!(rec["priority"], 0);
    assert!(rec["id"].is_i64(), "{rec}");
    assert!(
        zone["data"]["rrsets"].is_array(),
        "the PowerDNS fields are there too"
    );

    let serial_before = dig(app.dns, "acme-test.example.", RecordType::SOA).await;
    let v = pdns(
        &app,
        &[
            ("action", "delete_dns"),
            ("token", &t),
            ("params[zone]", "acme-test.example"),
            ("params[name]", "_acme-challenge"),
            ("params[type]", "TXT"),
        ],
    )
    .await;
    assert_eq!(
        v,
        serde_json::json!({"result":"OK","module":"pdns","action":"delete_dns","data":null})
    );
    let gone = dig(
        app.dns,
        "_acme-challenge.acme-test.example.",
        RecordType::TXT,
    )
    .await;
    assert_eq!(gone.response_code(), ResponseCode::NXDomain);
    assert!(gone.answers().is_empty());
    let before = match serial_before.answers()[0].data() {
        RData::SOA(s) => s.serial(),
        other => panic!("{other:?}"),
    };
    assert!(
        authority_soa(&gone).expect("SOA in authority") > before,
        "the serial rose"
    );

    // The provider deletes its domain by id (and zone); the name is then no zone of ours.
    let v = pdns(
        &app,
        &[
            ("action", "delete_domain"),
            ("token", &t),
            ("params[id]", &id.to_string()),
            ("params[zone]", "acme-test.example"),
        ],
    )
    .await;
    assert_eq!(v["data"][0]["id"], id, "{v}");
    let refused = dig(app.dns, "acme-test.example.", RecordType::SOA).await;
    assert_eq!(refused.response_code(), ResponseCode::Refused);
}

#[tokio::test]
async fn the_flat_dialect_gets_001s_shapes_and_tcp_sees_the_same_records() {
    let app = TestApp::spawn().await;
    let t = app.demo_token().await;
    let added = pdns(
        &app,
        &[
            ("action", "add_domain"),
            ("token", &t),
            ("name", "Flat.Example."),
        ],
    )
    .await;
    let id = added["data"][0]["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("001's [{{id}}]: {added}"));
    assert_eq!(added["data"].as_array().map(Vec::len), Some(1));
    assert!(added["data"][0].get("name").is_none(), "{added}");

    // 001's example: two addresses in one content field; 001 answers action delete_zone.
    let v = pdns(
        &app,
        &[
            ("action", "add_dns"),
            ("token", &t),
            ("zone", "flat.example"),
            ("name", "www"),
            ("old_name", ""),
            ("type", "A"),
            ("content", "10.56.121.5 10.56.121.6"),
            ("ttl", "3600"),
            ("increase_soa_serial", "1"),
        ],
    )
    .await;
    assert_eq!(
        v,
        serde_json::json!({"result":"OK","module":"pdns","action":"delete_zone","data":null})
    );

    let domains = pdns(&app, &[("action", "list_domains"), ("token", &t)]).await;
    assert_eq!(
        domains["data"],
        serde_json::json!([{"id": id, "name": "flat.example"}])
    );

    let zone = pdns(
        &app,
        &[
            ("action", "view_zone"),
            ("token", &t),
            ("zone", "flat.example"),
        ],
    )
    .await;
    assert_eq!(zone["action"], "view_zone");
    let z = &zone["data"][0];
    let mut keys: Vec<&str> = z
        .as_object()
        .expect("zone")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "account",
            "api_rectify",
            "dnssec",
            "edited_serial",
            "id",
            "kind",
            "last_check",
            "master_tsig_key_ids",
            "masters",
            "name",
            "notified_serial",
            "nsec3narrow",
            "nsec3param",
            "rrsets",
            "serial",
            "slave_tsig_key_ids",
            "soa_edit",
            "soa_edit_api",
            "url"
        ],
        "001's view_zone fields"
    );
    assert_eq!(z["id"], "flat.example.");
    assert_eq!(z["name"], "flat.example.");
    assert_eq!(z["kind"], "Master");
    assert_eq!(z["soa_edit_api"], "DEFAULT");
    assert_eq!(z["url"], "/api/v1/servers/localhost/zones/flat.example.");
    assert!(z["serial"].is_i64() && z["serial"] == z["edited_serial"]);
    let rrsets = z["rrsets"].as_array().expect("rrsets");
    let www = rrsets
        .iter()
        .find(|r| r["name"] == "www.flat.example." && r["type"] == "A")
        .expect("the A rrset");
    assert_eq!(
        www["records"],
        serde_json::json!([{"content":"10.56.121.5","disabled":false},{"content":"10.56.121.6","disabled":false}])
    );
    assert_eq!(www["comments"], serde_json::json!([]));
    assert_eq!(www["ttl"], 3600);
    let ns = rrsets.iter().find(|r| r["type"] == "NS").expect("NS");
    assert_eq!(
        ns["records"],
        serde_json::json!([{"content":"ns1.hostkey.com.","disabled":false},{"content":"ns2.hostkey.com.","disabled":false}])
    );
    assert!(rrsets.iter().any(|r| r["type"] == "SOA"));

    let zones = pdns(&app, &[("action", "list_zones"), ("token", &t)]).await;
    let mut keys: Vec<&str> = zones["data"][0]
        .as_object()
        .expect("zone")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "account",
            "dnssec",
            "edited_serial",
            "id",
            "kind",
            "last_check",
            "masters",
            "name",
            "notified_serial",
            "serial",
            "url"
        ]
    );

    let over_tcp = tcp(app.dns, &query("www.flat.example.", RecordType::A), 1).await;
    assert_eq!(addresses(&over_tcp[0]), ["10.56.121.5", "10.56.121.6"]);
    let over_udp = dig(app.dns, "WWW.FLAT.EXAMPLE.", RecordType::A).await;
    assert_eq!(
        addresses(&over_udp),
        ["10.56.121.5", "10.56.121.6"],
        "names are case-blind"
    );

    pdns(
        &app,
        &[
            ("action", "delete_dns"),
            ("token", &t),
            ("zone", "flat.example"),
            ("name", "www"),
            ("type", "A"),
        ],
    )
    .await;
    let gone = dig(app.dns, "www.flat.example.", RecordType::A).await;
    assert_eq!(gone.response_code(), ResponseCode::NXDomain);
    assert!(authority_soa(&gone).is_some());
    let v = pdns(
        &app,
        &[
            ("action", "delete_zone"),
            ("token", &t),
            ("zone", "flat.example"),
        ],
    )
    .await;
    assert_eq!(
        v,
        serde_json::json!({"result":"OK","module":"pdns","action":"delete_zone","data":null})
    );
    let v = pdns(&app, &[("action", "list_domains"), ("token", &t)]).await;
    assert_eq!(v["data"], serde_json::json!([]));
}

#[tokio::test]
async fn junk_packets_get_formerr_or_are_dropped_and_the_server_keeps_answering() {
    let app = TestApp::spawn().await;
    let t = app.demo_token().await;
    pdns(
        &app,
        &[
            ("action", "add_domain"),
            ("token", &t),
            ("name", "junk.example"),
        ],
    )
    .await;
    // Too short to answer: dropped (the next exchange proves the server is still there).
    let short = UdpSocket::bind("127.0.0.1:0").await.expect("udp");
    short.send_to(&[0x12], app.dns).await.expect("send");
    short.send_to(&[], app.dns).await.expect("send");
    // A header that promises questions that never come: FORMERR, same id.
    let mut header = vec![0xab, 0xcd, 0x01, 0x00, 0x00, 0x05, 0, 0, 0, 0, 0, 0];
    let formerr = Message::from_vec(&udp_raw(app.dns, &header).await.expect("FORMERR answer"))
        .expect("parses");
    assert_eq!(formerr.id(), 0xabcd);
    assert_eq!(formerr.response_code(), ResponseCode::FormErr);
    // Random garbage after a header, and a 4 KiB blob.
    header.extend_from_slice(&[0xff; 40]);
    let m = Message::from_vec(&udp_raw(app.dns, &header).await.expect("answer")).expect("parses");
    assert_eq!(m.response_code(), ResponseCode::FormErr);
    let blob: Vec<u8> = (0..4096u32).map(|i| (i * 7919 % 251) as u8).collect();
    let _ = udp_raw(app.dns, &blob).await;
    // Two questions in one message are not answered one by one.
    let mut two = Message::from_vec(&query("junk.example.", RecordType::A)).expect("q");
    two.add_query(Query::query(
        Name::from_ascii("junk.example.").expect("n"),
        RecordType::MX,
    ));
    let m = Message::from_vec(
        &udp_raw(app.dns, &two.to_vec().expect("v"))
            .await
            .expect("a"),
    )
    .expect("parses");
    assert_eq!(m.response_code(), ResponseCode::FormErr);
    // A response is never answered (no ping-pong between servers).
    let mut response = Message::from_vec(&query("junk.example.", RecordType::A)).expect("q");
    response.set_message_type(MessageType::Response);
    let quiet = UdpSocket::bind("127.0.0.1:0").await.expect("udp");
    quiet
        .send_to(&response.to_vec().expect("v"), app.dns)
        .await
        .expect("send");
    // TCP: a length prefix with garbage behind it, then the connection is closed.
    let mut s = TcpStream::connect(app.dns).await.expect("tcp");
    s.write_all(&[0x00, 0x03, 0x01, 0x02, 0x03])
        .await
        .expect("write");
    let mut rest = Vec::new();
    let _ = tokio::time::timeout(WAIT, s.read_to_end(&mut rest))
        .await
        .expect("closed in time");
    // Still answering, over both transports.
    let ok = dig(app.dns, "junk.example.", RecordType::SOA).await;
    assert_eq!(ok.response_code(), ResponseCode::NoError);
    assert_eq!(ok.answers().len(), 1);
    let ok = tcp(app.dns, &query("junk.example.", RecordType::NS), 1).await;
    assert_eq!(ok[0].answers().len(), 2);
}

async fn add_dns(app: &TestApp, t: &str, zone: &str, extra: &[(&str, &str)]) -> Value {
    let mut form = vec![("action", "add_dns"), ("token", t), ("zone", zone)];
    form.extend_from_slice(extra);
    app.call("pdns", &form).await
}

#[tokio::test]
async fn each_type_is_served_cnames_are_followed_and_other_zones_are_refused() {
    let app = TestApp::spawn().await;
    let t = app.demo_token().await;
    pdns(
        &app,
        &[
            ("action", "add_domain"),
            ("token", &t),
            ("name", "types.example"),
        ],
    )
    .await;
    let z = "types.example";
    for extra in [
        &[("name", "@"), ("type", "A"), ("content", "192.0.2.10")][..],
        &[
            ("name", "www"),
            ("type", "CNAME"),
            ("content", "types.example"),
        ],
        &[
            ("name", "v6"),
            ("type", "AAAA"),
            ("content", "2001:db8::10"),
        ],
        &[
            ("name", "@"),
            ("type", "MX"),
            ("content", "mail.types.example"),
            ("priority", "5"),
        ],
        &[
            ("name", "sip"),
            ("type", "SRV"),
            ("proto", "tcp"),
            ("priority", "10"),
            ("weight", "5"),
            ("port", "5060"),
            ("target", "sip.types.example."),
        ],
        &[
            ("name", "@"),
            ("type", "CAA"),
            ("content", "0 issue \"letsencrypt.org\""),
        ],
        &[("name", "*.dev"), ("type", "A"), ("content", "192.0.2.20")],
    ] {
        let v = add_dns(&app, &t, z, extra).await;
        assert_eq!(v["result"], "OK", "{extra:?}: {v}");
    }
    let m = dig(app.dns, "www.types.example.", RecordType::A).await;
    assert!(matches!(m.answers()[0].data(), RData::CNAME(_)), "{m:?}");
    assert_eq!(
        addresses(&m),
        ["192.0.2.10"],
        "the CNAME is followed in the zone"
    );
    assert_eq!(
        addresses(&dig(app.dns, "v6.types.example.", RecordType::AAAA).await),
        ["2001:db8::10"]
    );
    let mx = dig(app.dns, "types.example.", RecordType::MX).await;
    match mx.answers()[0].data() {
        RData::MX(mx) => {
            assert_eq!(mx.preference(), 5);
            assert_eq!(mx.exchange().to_ascii(), "mail.types.example.");
        }
        other => panic!("{other:?}"),
    }
    let srv = dig(app.dns, "_sip._tcp.types.example.", RecordType::SRV).await;
    match srv.answers()[0].data() {
        RData::SRV(s) => assert_eq!((s.priority(), s.weight(), s.port()), (10, 5, 5060)),
        other => panic!("{other:?}"),
    }
    let caa = dig(app.dns, "types.example.", RecordType::CAA).await;
    assert_eq!(caa.answers().len(), 1, "{caa:?}");
    assert_eq!(caa.answers()[0].record_type(), RecordType::CAA);
    let wild = dig(app.dns, "anything.dev.types.example.", RecordType::A).await;
    assert_eq!(addresses(&wild), ["192.0.2.20"]);
    assert_eq!(
        wild.answers()[0].name().to_ascii(),
        "anything.dev.types.example."
    );
    let nodata = dig(app.dns, "v6.types.example.", RecordType::A).await;
    assert_eq!(nodata.response_code(), ResponseCode::NoError);
    assert!(nodata.answers().is_empty() && authority_soa(&nodata).is_some());
    let refused = dig(app.dns, "example.org.", RecordType::A).await;
    assert_eq!(refused.response_code(), ResponseCode::Refused);

    // A zone transfer over TCP: SOA first and last, every record between.
    let axfr = tcp(app.dns, &query("types.example.", RecordType::AXFR), 1).await;
    let all = axfr[0].answers();
    assert_eq!(all.first().map(|r| r.record_type()), Some(RecordType::SOA));
    assert_eq!(all.last().map(|r| r.record_type()), Some(RecordType::SOA));
    assert_eq!(all.len(), 2 + 2 + 7, "SOA twice, two NS, seven records");
    // Over UDP there is no transfer.
    let m = Message::from_vec(
        &udp_raw(app.dns, &query("types.example.", RecordType::AXFR))
            .await
            .expect("a"),
    )
    .expect("parses");
    assert_eq!(m.response_code(), ResponseCode::NotImp);

    let file = app
        .client
        .get(format!("{}/_emu/dns/types.example", app.base))
        .send()
        .await
        .expect("zone file");
    assert_eq!(file.status(), 200);
    let text = file.text().await.expect("text");
    assert!(text.starts_with("$ORIGIN types.example.\n"), "{text}");
    assert!(
        text.contains("www.types.example.\t3600\tIN\tCNAME\ttypes.example."),
        "{text}"
    );
    assert!(
        text.contains("_sip._tcp.types.example.\t3600\tIN\tSRV\t10 5 5060 sip.types.example."),
        "{text}"
    );
    let missing = app
        .client
        .get(format!("{}/_emu/dns/nope.example", app.base))
        .send()
        .await
        .expect("404");
    assert_eq!(missing.status(), 404);
}

#[tokio::test]
async fn bad_records_and_other_accounts_zones_are_refused_and_change_nothing() {
    let app = TestApp::spawn().await;
    let t = app.demo_token().await;
    let z = "strict.example";
    let added = pdns(
        &app,
        &[("action", "add_domain"), ("token", &t), ("name", z)],
    )
    .await;
    assert_eq!(added["result"], "OK");
    add_dns(
        &app,
        &t,
        z,
        &[("name", "www"), ("type", "A"), ("content", "192.0.2.1")],
    )
    .await;
    let before = pdns(&app, &[("action", "view_zone"), ("token", &t), ("zone", z)]).await;
    for (extra, wanted) in [
        (
            &[("name", "www"), ("type", "A"), ("content", "192.0.2.300")][..],
            "invalid A record content",
        ),
        (
            &[("name", "www"), ("type", "AAAA"), ("content", "192.0.2.1")],
            "invalid AAAA record content",
        ),
        (
            &[
                ("name", "www"),
                ("type", "CNAME"),
                ("content", "other.example"),
            ],
            "a CNAME must stand alone",
        ),
        (
            &[
                ("name", "@"),
                ("type", "CNAME"),
                ("content", "other.example"),
            ],
            "zone apex",
        ),
        (
            &[("name", "www"), ("type", "A"), ("content", "192.0.2.1")],
            "already exists",
        ),
        (
            &[
                ("name", "x.other.org."),
                ("type", "A"),
                ("content", "192.0.2.1"),
            ],
            "outside zone",
        ),
        (
            &[("name", "x"), ("type", "HINFO"), ("content", "a b")],
            "unknown record type",
        ),
        (
            &[
                ("name", "x"),
                ("type", "MX"),
                ("content", "99999 mail.example.com"),
            ],
            "invalid MX priority",
        ),
        (
            &[
                ("name", "x"),
                ("type", "TXT"),
                ("content", "\"unterminated"),
            ],
            "unbalanced quotes",
        ),
        (
            &[
                ("name", "x"),
                ("type", "A"),
                ("content", "192.0.2.1"),
                ("ttl", "5"),
            ],
            "invalid ttl 5",
        ),
        (
            &[
                ("name", "bad name"),
                ("type", "A"),
                ("content", "192.0.2.1"),
            ],
            "invalid record name",
        ),
        (&[("name", "x"), ("type", "A")], "content is required"),
    ] {
        let v = add_dns(&app, &t, z, extra).await;
        assert_eq!(v["result"], -1, "{extra:?}: {v}");
        let error = v["error"].as_str().expect("error");
        assert!(
            error.starts_with("pdns/add_dns: ") && error.contains(wanted),
            "{extra:?}: {error}"
        );
    }
    let v = pdns(
        &app,
        &[
            ("action", "delete_dns"),
            ("token", &t),
            ("zone", z),
            ("name", "nope"),
            ("type", "A"),
        ],
    )
    .await;
    assert!(
        v["error"]
            .as_str()
            .expect("error")
            .contains("no A record at nope.strict.example."),
        "{v}"
    );
    let v = pdns(
        &app,
        &[
            ("action", "add_domain"),
            ("token", &t),
            ("name", "not a domain"),
        ],
    )
    .await;
    assert!(
        v["error"]
            .as_str()
            .expect("error")
            .starts_with("pdns/add_domain: invalid zone name"),
        "{v}"
    );
    let v = pdns(
        &app,
        &[("action", "add_domain"), ("token", &t), ("name", z)],
    )
    .await;
    assert_eq!(
        v["error"],
        "pdns/add_domain: zone strict.example already exists"
    );

    // Another account: 001's permission error, for every way of naming the zone.
    let other = app.other_token().await;
    let domain_id = added["data"][0]["id"].to_string();
    let denied = "permission denied #3, this is not your zone";
    for form in [
        vec![("action", "view_zone"), ("zone", z)],
        vec![("action", "delete_zone"), ("zone", z)],
        vec![
            ("action", "delete_dns"),
            ("zone", z),
            ("name", "www"),
            ("type", "A"),
        ],
        vec![
            ("action", "add_dns"),
            ("zone", z),
            ("name", "evil"),
            ("type", "A"),
            ("content", "192.0.2.66"),
        ],
        vec![("action", "delete_domain"), ("domain_id", &domain_id)],
    ] {
        let mut form = form;
        form.push(("token", &other));
        let v = pdns(&app, &form).await;
        assert_eq!(v["result"], -1);
        assert_eq!(v["error"], format!("pdns/{}: {denied}", form[0].1), "{v}");
    }
    let v = pdns(&app, &[("action", "list_domains"), ("token", &other)]).await;
    assert_eq!(v["data"], serde_json::json!([]));
    let after = pdns(&app, &[("action", "view_zone"), ("token", &t), ("zone", z)]).await;
    assert_eq!(before, after, "nothing changed");
}

#[tokio::test]
async fn add_zone_takes_the_soa_and_name_servers_and_subdomains_point_at_servers() {
    let app = TestApp::spawn().await;
    let t = app.demo_token().await;
    let v = pdns(
        &app,
        &[
            ("action", "add_zone"),
            ("token", &t),
            ("server_id", "40101"),
            ("zonename", "zone.example"),
            ("rrsets", "true"),
            ("dnssec", "false"),
            ("kind", "master"),
            ("masters[]", "[]"),
            ("dns[ttl]", "3600"),
            ("dns[mname]", "ns1.hostkey.com"),
            ("dns[rname]", "admin.zone.example"),
            ("dns[serial]", "2023101800"),
            ("dns[refresh]", "14400"),
            ("dns[retry]", "3600"),
            ("dns[expire]", "604800"),
            ("dns[minimum]", "3600"),
            ("nameservers[]", "ns1.hostkey.com"),
            ("nameservers[]", "ns1.hostkey.com"),
        ],
    )
    .await;
    assert_eq!(
        v["action"], "view_zone",
        "001 answers add_zone as view_zone: {v}"
    );
    assert_eq!(v["data"][0]["serial"], 2023101800);
    let soa = dig(app.dns, "zone.example.", RecordType::SOA).await;
    match soa.answers()[0].data() {
        RData::SOA(s) => {
            assert_eq!(s.mname().to_ascii(), "ns1.hostkey.com.");
            assert_eq!(s.rname().to_ascii(), "admin.zone.example.");
            assert_eq!(
                (s.serial(), s.refresh(), s.minimum()),
                (2023101800, 14400, 3600)
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        dig(app.dns, "zone.example.", RecordType::NS)
            .await
            .answers()
            .len(),
        1,
        "repeated NS once"
    );

    let domains = pdns(&app, &[("action", "list_domains"), ("token", &t)]).await;
    let domain_id = domains["data"][0]["id"].to_string();
    let v = pdns(
        &app,
        &[
            ("action", "add_subdomain"),
            ("token", &t),
            ("server_id", "40101"),
            ("domain_id", &domain_id),
            ("name", "app"),
        ],
    )
    .await;
    let sub = v["data"][0]["id"].to_string();
    assert_eq!(
        addresses(&dig(app.dns, "app.zone.example.", RecordType::A).await),
        ["31.207.45.23"]
    );
    let list = pdns(
        &app,
        &[
            ("action", "list_subdomains"),
            ("token", &t),
            ("server_id", "40101"),
        ],
    )
    .await;
    assert_eq!(
        list["data"],
        serde_json::json!([{"id": v["data"][0]["id"], "name": "app", "domain_id": domains["data"][0]["id"], "server_id": 40101}])
    );
    let v = pdns(
        &app,
        &[
            ("action", "edit_subdomain"),
            ("token", &t),
            ("server_id", "40102"),
            ("id", &sub),
        ],
    )
    .await;
    assert_eq!(v["action"], "edit_subdomain", "{v}");
    assert_eq!(
        addresses(&dig(app.dns, "app.zone.example.", RecordType::A).await),
        ["5.39.218.37"]
    );
    let v = pdns(
        &app,
        &[
            ("action", "delete_subdomain"),
            ("token", &t),
            ("server_id", "40102"),
            ("id", &sub),
        ],
    )
    .await;
    assert_eq!(
        v["action"], "delete_domain",
        "001's answer to delete_subdomain"
    );
    let gone = dig(app.dns, "app.zone.example.", RecordType::A).await;
    assert_eq!(gone.response_code(), ResponseCode::NXDomain);
    let other = app.other_token().await;
    let v = pdns(
        &app,
        &[
            ("action", "add_subdomain"),
            ("token", &other),
            ("server_id", "40107"),
            ("domain_id", &domain_id),
            ("name", "x"),
        ],
    )
    .await;
    assert_eq!(
        v["error"],
        "pdns/add_subdomain: permission denied #3, this is not your zone"
    );
}

#[tokio::test]
async fn reverse_lookups_of_the_emulators_addresses_follow_update_ptr() {
    let app = TestApp::spawn().await;
    let t = app.demo_token().await;
    let ptr = |m: &Message| -> Vec<String> {
        m.answers()
            .iter()
            .filter_map(|r| match r.data() {
                RData::PTR(p) => Some(p.0.to_ascii()),
                _ => None,
            })
            .collect()
    };
    let name = "23.45.207.31.in-addr.arpa.";
    let m = dig(app.dns, name, RecordType::PTR).await;
    assert_eq!(ptr(&m), ["31-207-45-23.static.hostkey-emu.local."]);
    let v = app
        .call(
            "ip",
            &[
                ("action", "update_ptr"),
                ("token", &t),
                ("id", "40101"),
                ("ip", "31.207.45.23"),
                ("ptr", "web.example.com"),
            ],
        )
        .await;
    assert_eq!(v["result"], "OK", "{v}");
    assert_eq!(
        ptr(&dig(app.dns, name, RecordType::PTR).await),
        ["web.example.com."]
    );
    let unused = dig(app.dns, "100.45.207.31.in-addr.arpa.", RecordType::PTR).await;
    assert_eq!(
        unused.response_code(),
        ResponseCode::NXDomain,
        "in a subnet, not in use"
    );
    let foreign = dig(app.dns, "8.8.8.8.in-addr.arpa.", RecordType::PTR).await;
    assert_eq!(foreign.response_code(), ResponseCode::Refused);
}

#[tokio::test]
async fn large_answers_are_truncated_over_udp_and_whole_over_tcp() {
    let app = TestApp::spawn().await;
    let t = app.demo_token().await;
    pdns(
        &app,
        &[
            ("action", "add_domain"),
            ("token", &t),
            ("name", "big.example"),
        ],
    )
    .await;
    let texts: Vec<String> = (0..20)
        .map(|i| format!("{i:02}-{}", "x".repeat(97)))
        .collect();
    let mut form = vec![
        ("action", "add_dns"),
        ("token", t.as_str()),
        ("params[zone]", "big.example"),
        ("params[name]", "many"),
        ("params[type]", "TXT"),
    ];
    form.extend(texts.iter().map(|c| ("params[content][]", c.as_str())));
    let v = pdns(&app, &form).await;
    assert_eq!(v["result"], "OK", "{v}");
    // No EDNS: at most 512 bytes over UDP, so the answer is cut and flagged.
    let cut = dig(app.dns, "many.big.example.", RecordType::TXT).await;
    assert!(cut.truncated(), "TC set");
    assert!(cut.answers().is_empty());
    let whole = tcp(app.dns, &query("many.big.example.", RecordType::TXT), 1).await;
    let mut got = txts(&whole[0]);
    got.sort();
    assert_eq!(got, texts, "every record over TCP");
}

#[tokio::test]
async fn the_providers_mx_record_reads_back_as_it_was_sent() {
    let app = TestApp::spawn().await;
    let t = app.demo_token().await;
    pdns(
        &app,
        &[
            ("action", "add_domain"),
            ("token", &t),
            ("params[name]", "mx.example"),
        ],
    )
    .await;
    let v = pdns(
        &app,
        &[
            ("action", "add_dns"),
            ("token", &t),
            ("params[zone]", "mx.example"),
            ("params[name]", "@"),
            ("params[type]", "MX"),
            ("params[content][]", "mail.mx.example"),
            ("params[priority]", "20"),
        ],
    )
    .await;
    assert_eq!(v["result"], "OK", "{v}");
    let zone = pdns(
        &app,
        &[
            ("action", "view_zone"),
            ("token", &t),
            ("params[zone]", "mx.example"),
        ],
    )
    .await;
    let records = zone["data"]["records"].as_array().expect("records");
    let mx = records.iter().find(|r| r["type"] == "MX").expect("MX");
    assert_eq!(mx["name"], "@");
    assert_eq!(mx["content"], "mail.mx.example");
    assert_eq!(mx["priority"], 20);
    let ns: Vec<&Value> = records.iter().filter(|r| r["type"] == "NS").collect();
    assert_eq!(ns.len(), 2);
    assert_eq!(ns[0]["content"], "ns1.hostkey.com");
    // The flat view shows the same record as PowerDNS writes it.
    let flat = pdns(
        &app,
        &[
            ("action", "view_zone"),
            ("token", &t),
            ("zone", "mx.example"),
        ],
    )
    .await;
    let rrsets = flat["data"][0]["rrsets"].as_array().expect("rrsets");
    let mx = rrsets.iter().find(|r| r["type"] == "MX").expect("MX rrset");
    assert_eq!(mx["records"][0]["content"], "20 mail.mx.example.");
    let answer = dig(app.dns, "mx.example.", RecordType::MX).await;
    match answer.answers()[0].data() {
        RData::MX(m) => assert_eq!(m.preference(), 20),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn old_name_renames_a_record_and_the_serial_can_stay() {
    let app = TestApp::spawn().await;
    let t = app.demo_token().await;
    pdns(
        &app,
        &[
            ("action", "add_domain"),
            ("token", &t),
            ("name", "rename.example"),
        ],
    )
    .await;
    let z = "rename.example";
    add_dns(
        &app,
        &t,
        z,
        &[("name", "www"), ("type", "A"), ("content", "192.0.2.1")],
    )
    .await;
    let serial = |m: &Message| match m.answers()[0].data() {
        RData::SOA(s) => s.serial(),
        other => panic!("{other:?}"),
    };
    let before = serial(&dig(app.dns, "rename.example.", RecordType::SOA).await);
    let v = add_dns(
        &app,
        &t,
        z,
        &[
            ("name", "web"),
            ("old_name", "www"),
            ("type", "A"),
            ("content", "192.0.2.2"),
            ("increase_soa_serial", "0"),
        ],
    )
    .await;
    assert_eq!(v["result"], "OK", "{v}");
    let old = dig(app.dns, "www.rename.example.", RecordType::A).await;
    assert_eq!(old.response_code(), ResponseCode::NXDomain);
    assert_eq!(
        addresses(&dig(app.dns, "web.rename.example.", RecordType::A).await),
        ["192.0.2.2"]
    );
    assert_eq!(
        serial(&dig(app.dns, "rename.example.", RecordType::SOA).await),
        before
    );
    let v = add_dns(
        &app,
        &t,
        z,
        &[
            ("name", "x"),
            ("old_name", "nothing"),
            ("type", "A"),
            ("content", "192.0.2.3"),
        ],
    )
    .await;
    assert_eq!(
        v["error"],
        "pdns/add_dns: no A record at nothing.rename.example. to change"
    );
    let unchanged = dig(app.dns, "x.rename.example.", RecordType::A).await;
    assert_eq!(
        unchanged.response_code(),
        ResponseCode::NXDomain,
        "nothing written"
    );
}

#[tokio::test]
async fn a_cname_loop_is_answered_once_round() {
    let app = TestApp::spawn().await;
    let t = app.demo_token().await;
    pdns(
        &app,
        &[
            ("action", "add_domain"),
            ("token", &t),
            ("name", "loop.example"),
        ],
    )
    .await;
    add_dns(
        &app,
        &t,
        "loop.example",
        &[
            ("name", "a"),
            ("type", "CNAME"),
            ("content", "b.loop.example"),
        ],
    )
    .await;
    add_dns(
        &app,
        &t,
        "loop.example",
        &[
            ("name", "b"),
            ("type", "CNAME"),
            ("content", "a.loop.example"),
        ],
    )
    .await;
    let m = dig(app.dns, "a.loop.example.", RecordType::A).await;
    assert_eq!(m.response_code(), ResponseCode::NoError);
    assert_eq!(m.answers().len(), 2, "a -> b -> a stops: {m:?}");
}
