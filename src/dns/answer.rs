//! What the authoritative server answers to one DNS message: parsed and built with
//! hickory-proto, the data read from the database on every query (so a change through
//! `pdns.php` or `ip/update_ptr` is seen at once). The DNS domains of the emulated Hestia
//! panels are served beside the `pdns.php` zones.

use std::net::Ipv4Addr;

use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::rdata::{self, CNAME, MX, NS, NULL, PTR, SOA, SRV, TXT};
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};

use crate::domain::dns as rules;
use crate::ops;
use crate::state::AppState;
use crate::store::{self, dns::Zone};

/// Which transport a message came over (AXFR only over TCP; UDP answers are size-bound).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Udp,
    Tcp,
}

/// Largest UDP answer offered with EDNS (the DNS flag day's 1232 bytes).
const EDNS_UDP: u16 = 1232;
/// Records per message of a zone transfer.
const AXFR_CHUNK: usize = 200;
/// CNAMEs followed within a zone for one answer.
const MAX_CHASE: usize = 8;

/// The answers to one incoming packet: none (dropped: too short to answer, or itself a
/// response), one, or several (a zone transfer over TCP).
pub async fn handle(state: &AppState, packet: &[u8], transport: Transport) -> Vec<Vec<u8>> {
    if packet.len() < 12 {
        return Vec::new();
    }
    // A response (QR set) is never answered, so two servers cannot ping-pong.
    if packet[2] & 0x80 != 0 {
        return Vec::new();
    }
    let id = u16::from_be_bytes([packet[0], packet[1]]);
    let request = match Message::from_vec(packet) {
        Ok(m) => m,
        Err(_) => {
            return encode_one(&Message::error_msg(
                id,
                OpCode::Query,
                ResponseCode::FormErr,
            ))
        }
    };
    let mut response = Message::new();
    response
        .set_id(id)
        .set_message_type(MessageType::Response)
        .set_op_code(request.op_code())
        .set_recursion_desired(request.recursion_desired());
    response.add_queries(request.queries().iter().cloned());
    if let Some(edns) = request.extensions() {
        let mut reply = Edns::new();
        reply.set_max_payload(EDNS_UDP);
        response.set_edns(reply);
        if edns.version() > 0 {
            // BADVERS is an extended code (16); its low bits go in the header.
            response.set_response_code(ResponseCode::BADVERS);
            return finish(response, &request, transport);
        }
    }
    if request.op_code() != OpCode::Query {
        response.set_response_code(ResponseCode::NotImp);
        return finish(response, &request, transport);
    }
    let [query] = request.queries() else {
        response.set_response_code(ResponseCode::FormErr);
        return finish(response, &request, transport);
    };
    if !matches!(query.query_class(), DNSClass::IN | DNSClass::ANY) {
        response.set_response_code(ResponseCode::Refused);
        return finish(response, &request, transport);
    }
    let result = match query.query_type() {
        RecordType::AXFR | RecordType::IXFR => {
            return transfer(state, response, query, transport).await;
        }
        _ => resolve(state, query, &mut response).await,
    };
    if let Err(e) = result {
        tracing::error!(error = %e, "dns: lookup failed");
        response.set_response_code(ResponseCode::ServFail);
    }
    finish(response, &request, transport)
}

/// Serializes the answer; over UDP, an answer larger than the client takes is cut to its
/// header and question with TC set, so the client asks again over TCP.
fn finish(response: Message, request: &Message, transport: Transport) -> Vec<Vec<u8>> {
    let bytes = match response.to_vec() {
        Ok(b) => b,
        Err(e) => {
            tracing::error!(error = %e, "dns: answer did not serialize");
            let fail =
                Message::error_msg(response.id(), response.op_code(), ResponseCode::ServFail);
            return encode_one(&fail);
        }
    };
    let limit = match request.extensions() {
        Some(e) => usize::from(e.max_payload().clamp(512, EDNS_UDP)),
        None => 512,
    };
    if transport == Transport::Udp && bytes.len() > limit {
        let mut cut = response.truncate();
        cut.set_truncated(true);
        return encode_one(&cut);
    }
    vec![bytes]
}

fn encode_one(m: &Message) -> Vec<Vec<u8>> {
    m.to_vec().map(|b| vec![b]).unwrap_or_default()
}

/// A normalized name (lower case, no trailing dot) of a query name.
fn plain(name: &Name) -> String {
    name.to_lowercase()
        .to_ascii()
        .trim_end_matches('.')
        .to_owned()
}

fn fqdn(name: &str) -> Option<Name> {
    Name::from_ascii(format!("{}.", name.trim_end_matches('.'))).ok()
}

/// The zone's SOA as a record.
fn soa_record(z: &Zone) -> Option<Record> {
    let soa = ops::dns::soa_of(z);
    soa_of(&z.name, &soa)
}

fn soa_of(zone: &str, soa: &rules::Soa) -> Option<Record> {
    let data = SOA::new(
        Name::from_ascii(&soa.mname).ok()?,
        Name::from_ascii(&soa.rname).ok()?,
        u32::try_from(soa.serial).ok()?,
        i32::try_from(soa.refresh).ok()?,
        i32::try_from(soa.retry).ok()?,
        i32::try_from(soa.expire).ok()?,
        u32::try_from(soa.minimum).ok()?,
    );
    Some(Record::from_rdata(
        fqdn(zone)?,
        u32::try_from(soa.ttl).ok()?,
        RData::SOA(data),
    ))
}

/// The SOA for a negative answer: its TTL is the lesser of its own and the minimum
/// (RFC 2308).
fn negative_soa(zone: &str, soa: &rules::Soa) -> Option<Record> {
    let mut r = soa_of(zone, soa)?;
    r.set_ttl(u32::try_from(soa.ttl.min(soa.minimum)).unwrap_or(0));
    Some(r)
}

/// A stored record on the wire; a record whose content does not convert is skipped.
fn wire(r: &store::dns::Record) -> Option<Record> {
    let name = fqdn(&r.name)?;
    let host = |s: &str| Name::from_ascii(s).ok();
    let data = match r.rtype.as_str() {
        "A" => RData::A(rdata::A(r.content.parse().ok()?)),
        "AAAA" => RData::AAAA(rdata::AAAA(r.content.parse().ok()?)),
        "CNAME" => RData::CNAME(CNAME(host(&r.content)?)),
        "NS" => RData::NS(NS(host(&r.content)?)),
        "PTR" => RData::PTR(PTR(host(&r.content)?)),
        "MX" => {
            let (pref, target) = r.content.split_once(' ')?;
            RData::MX(MX::new(pref.parse().ok()?, host(target)?))
        }
        "SRV" => {
            let f: Vec<&str> = r.content.split(' ').collect();
            let [p, w, port, target] = f.as_slice() else {
                return None;
            };
            RData::SRV(SRV::new(
                p.parse().ok()?,
                w.parse().ok()?,
                port.parse().ok()?,
                host(target)?,
            ))
        }
        "TXT" => {
            let strings = rules::txt_strings(&r.content).ok()?;
            RData::TXT(TXT::from_bytes(strings.iter().map(Vec::as_slice).collect()))
        }
        "CAA" => {
            // Sent as its RFC 8659 bytes: flags, tag length, tag, value.
            let (flags, tag, value) = rules::caa_parts(&r.content)?;
            let mut bytes = vec![flags, u8::try_from(tag.len()).ok()?];
            bytes.extend_from_slice(tag.as_bytes());
            bytes.extend_from_slice(&value);
            RData::Unknown {
                code: RecordType::CAA,
                rdata: NULL::with(bytes),
            }
        }
        _ => return None,
    };
    Some(Record::from_rdata(name, u32::try_from(r.ttl).ok()?, data))
}

/// Answers a query from the zones in the database: the records of the name (following a
/// CNAME within the zone), NODATA or NXDOMAIN with the SOA in the authority section, and
/// REFUSED for names in no hosted zone. Reverse names of the emulator's own addresses are
/// answered from their PTR records (`ip/update_ptr`).
async fn resolve(
    state: &AppState,
    query: &Query,
    response: &mut Message,
) -> Result<(), sqlx::Error> {
    let qname = plain(query.name());
    let qtype = query.query_type();
    let (zone, records) = match store::dns::zone_holding(&state.db, &qname).await? {
        Some(zone) => {
            let records = store::dns::records(&state.db, zone.id).await?;
            (zone, records)
        }
        // The DNS domains of the emulated Hestia panels are served too.
        None => match ops::hestia::dns_zone_holding(state, &qname)
            .await
            .map_err(|e| sqlx::Error::Protocol(e.to_string()))?
        {
            Some(served) => served,
            None => return reverse(state, &qname, qtype, response).await,
        },
    };
    response.set_authoritative(true);
    let soa = ops::dns::soa_of(&zone);
    let mut name = qname;
    let mut seen: Vec<String> = Vec::new();
    for _ in 0..MAX_CHASE {
        // A CNAME loop ends at the first name seen twice.
        if seen.contains(&name) {
            return Ok(());
        }
        seen.push(name.clone());
        let mut here: Vec<&store::dns::Record> =
            records.iter().filter(|r| r.name == name).collect();
        let apex = name == zone.name;
        if here.is_empty() && !apex {
            // A wildcard one label up stands in for a name that has nothing.
            let wild = name
                .split_once('.')
                .map(|(_, parent)| format!("*.{parent}"));
            let covered = records
                .iter()
                .any(|r| r.name.ends_with(&format!(".{name}")));
            if let (Some(wild), false) = (wild, covered) {
                here = records.iter().filter(|r| r.name == wild).collect();
            }
            if here.is_empty() {
                if !covered {
                    response.set_response_code(ResponseCode::NXDomain);
                }
                response.add_name_servers(negative_soa(&zone.name, &soa));
                return Ok(());
            }
        }
        let owner = fqdn(&name);
        let rename = |mut r: Record| {
            // Wildcard answers carry the asked name.
            if let Some(o) = &owner {
                r.set_name(o.clone());
            }
            r
        };
        if let Some(cname) = here.iter().find(|r| r.rtype == "CNAME") {
            if qtype != RecordType::CNAME {
                response.add_answers(wire(cname).map(rename));
                let target = cname.content.trim_end_matches('.').to_owned();
                if target == zone.name || target.ends_with(&format!(".{}", zone.name)) {
                    name = target;
                    continue;
                }
                return Ok(());
            }
        }
        let mut found: Vec<Record> = here
            .iter()
            .filter(|r| {
                qtype == RecordType::ANY || r.rtype.parse::<RecordType>().ok() == Some(qtype)
            })
            .filter_map(|r| wire(r))
            .map(rename)
            .collect();
        if apex && matches!(qtype, RecordType::SOA | RecordType::ANY) {
            found.extend(soa_record(&zone));
        }
        if found.is_empty() {
            response.add_name_servers(negative_soa(&zone.name, &soa));
        }
        response.add_answers(found);
        return Ok(());
    }
    Ok(())
}

/// The reverse zone of an address (`c.b.a.in-addr.arpa` for a.b.c.d) with the
/// emulator's SOA, for negative answers about its own addresses.
fn reverse_soa(state: &AppState, ip: Ipv4Addr) -> (String, rules::Soa) {
    let o = ip.octets();
    let today = chrono::DateTime::from_timestamp(state.clock.now(), 0)
        .map(|d| d.format("%Y%m%d").to_string())
        .and_then(|d| d.parse::<i64>().ok())
        .unwrap_or(19_700_101);
    let soa = rules::Soa {
        mname: format!("{}.", rules::DEFAULT_NAMESERVERS[0]),
        rname: "hostmaster.hostkey.com.".to_owned(),
        serial: today * 100 + 1,
        refresh: 14_400,
        retry: 3600,
        expire: 604_800,
        minimum: 3600,
        ttl: 3600,
    };
    (format!("{}.{}.{}.in-addr.arpa", o[2], o[1], o[0]), soa)
}

/// PTR answers for the emulator's own addresses (`dig -x`): the records set with
/// `ip/update_ptr`, else the default; an address of its subnets that is not in use is
/// NXDOMAIN; anything else is not the emulator's to answer (REFUSED).
async fn reverse(
    state: &AppState,
    qname: &str,
    qtype: RecordType,
    response: &mut Message,
) -> Result<(), sqlx::Error> {
    let ip = qname.strip_suffix(".in-addr.arpa").and_then(|rev| {
        let octets: Vec<&str> = rev.split('.').collect();
        let [d, c, b, a] = octets.as_slice() else {
            return None;
        };
        format!("{a}.{b}.{c}.{d}").parse::<Ipv4Addr>().ok()
    });
    let Some(ip) = ip else {
        response.set_response_code(ResponseCode::Refused);
        return Ok(());
    };
    let address = ip.to_string();
    let (zone, soa) = reverse_soa(state, ip);
    if !store::dns::address_known(&state.db, &address).await? {
        if store::network::subnet_of(&state.db, &address)
            .await?
            .is_none()
        {
            response.set_response_code(ResponseCode::Refused);
            return Ok(());
        }
        response.set_authoritative(true);
        response.set_response_code(ResponseCode::NXDomain);
        response.add_name_servers(negative_soa(&zone, &soa));
        return Ok(());
    }
    response.set_authoritative(true);
    if !matches!(qtype, RecordType::PTR | RecordType::ANY) {
        response.add_name_servers(negative_soa(&zone, &soa));
        return Ok(());
    }
    let stored = store::network::ptr(&state.db, &address).await?;
    let hosts: Vec<String> = match stored {
        Some(r) => r.lines().map(str::to_owned).collect(),
        None => vec![ops::addresses::default_ptr(&address)],
    };
    let owner = fqdn(qname);
    for h in hosts {
        if let (Some(owner), Ok(target)) = (owner.clone(), Name::from_ascii(&h)) {
            response.add_answer(Record::from_rdata(owner, 3600, RData::PTR(PTR(target))));
        }
    }
    Ok(())
}

/// A zone transfer (AXFR; IXFR is answered the same way, with the whole zone): over TCP
/// only, for a zone the server hosts; the SOA, every record, the SOA again, in messages of
/// at most [`AXFR_CHUNK`] records.
async fn transfer(
    state: &AppState,
    mut response: Message,
    query: &Query,
    transport: Transport,
) -> Vec<Vec<u8>> {
    let qname = plain(query.name());
    let zone = match store::dns::zone_named(&state.db, &qname).await {
        Ok(z) => z.map(|z| (z, None)),
        Err(e) => {
            tracing::error!(error = %e, "dns: transfer lookup failed");
            response.set_response_code(ResponseCode::ServFail);
            return encode_one(&response);
        }
    };
    // A Hestia panel's DNS domain is transferred as well.
    let zone = match zone {
        Some(z) => Some(z),
        None => match ops::hestia::dns_zone_holding(state, &qname).await {
            Ok(Some((z, records))) if z.name == qname => Some((z, Some(records))),
            Ok(_) => None,
            Err(e) => {
                tracing::error!(error = %e, "dns: transfer lookup failed");
                response.set_response_code(ResponseCode::ServFail);
                return encode_one(&response);
            }
        },
    };
    let (Some((zone, panel_records)), Transport::Tcp) = (zone, transport) else {
        // Over UDP, or for a zone not hosted here, there is nothing to transfer.
        response.set_response_code(if transport == Transport::Udp {
            ResponseCode::NotImp
        } else {
            ResponseCode::NotAuth
        });
        return encode_one(&response);
    };
    let records = match panel_records {
        Some(r) => Ok(r),
        None => store::dns::records(&state.db, zone.id).await,
    };
    let records = match records {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "dns: transfer read failed");
            response.set_response_code(ResponseCode::ServFail);
            return encode_one(&response);
        }
    };
    let Some(soa) = soa_record(&zone) else {
        response.set_response_code(ResponseCode::ServFail);
        return encode_one(&response);
    };
    response.set_authoritative(true);
    let mut all = vec![soa.clone()];
    all.extend(records.iter().filter_map(wire));
    all.push(soa);
    let mut out = Vec::new();
    for chunk in all.chunks(AXFR_CHUNK) {
        let mut m = response.clone();
        m.add_answers(chunk.iter().cloned());
        match m.to_vec() {
            Ok(b) => out.push(b),
            Err(e) => {
                tracing::error!(error = %e, "dns: transfer did not serialize");
                return encode_one(&Message::error_msg(
                    response.id(),
                    OpCode::Query,
                    ResponseCode::ServFail,
                ));
            }
        }
        // Only the first message repeats the question.
        response.take_queries();
    }
    out
}

#[cfg(test)]
mod tests {
    use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
    use hickory_proto::rr::{Name, RData, RecordType};

    use super::{handle, Transport};
    use crate::ops::hestia::test_support::{ok, panel};

    fn ask(name: &str, rtype: RecordType) -> Vec<u8> {
        let mut m = Message::new();
        m.set_id(7)
            .set_message_type(MessageType::Query)
            .set_op_code(OpCode::Query);
        m.add_query(Query::query(Name::from_ascii(name).expect("name"), rtype));
        m.to_vec().expect("query")
    }

    async fn dig(state: &crate::state::AppState, name: &str, rtype: RecordType) -> Message {
        let out = handle(state, &ask(name, rtype), Transport::Udp).await;
        Message::from_vec(&out[0]).expect("answer")
    }

    #[tokio::test]
    async fn hestia_panel_zones_are_served_as_they_are_now() {
        let (state, p) = panel().await;
        ok(
            &state,
            p,
            "v-add-user",
            &["bob", "Secret-1", "bob@example.com"],
        )
        .await;
        ok(
            &state,
            p,
            "v-add-dns-domain",
            &["bob", "bob-panel.test", "198.51.100.20"],
        )
        .await;
        let m = dig(&state, "bob-panel.test.", RecordType::A).await;
        assert_eq!(m.response_code(), ResponseCode::NoError);
        assert!(m.authoritative());
        let ips: Vec<String> = m
            .answers()
            .iter()
            .filter_map(|r| match r.data() {
                RData::A(a) => Some(a.0.to_string()),
                _ => None,
            })
            .collect();
        assert_eq!(ips, ["198.51.100.20"]);
        // www is a CNAME to the apex, followed within the zone.
        let m = dig(&state, "www.bob-panel.test.", RecordType::A).await;
        assert!(m
            .answers()
            .iter()
            .any(|r| matches!(r.data(), RData::CNAME(_))));
        assert!(m.answers().iter().any(|r| matches!(r.data(), RData::A(_))));
        let m = dig(&state, "bob-panel.test.", RecordType::MX).await;
        let mx: Vec<String> = m
            .answers()
            .iter()
            .filter_map(|r| match r.data() {
                RData::MX(mx) => Some(format!("{} {}", mx.preference(), mx.exchange())),
                _ => None,
            })
            .collect();
        assert_eq!(mx, ["0 mail.bob-panel.test."]);
        // A record added through the panel is answered at once.
        ok(
            &state,
            p,
            "v-add-dns-record",
            &["bob", "bob-panel.test", "api", "A", "198.51.100.44"],
        )
        .await;
        let m = dig(&state, "api.bob-panel.test.", RecordType::A).await;
        assert_eq!(m.answers().len(), 1);
        let m = dig(&state, "nope.bob-panel.test.", RecordType::A).await;
        assert_eq!(m.response_code(), ResponseCode::NXDomain);
        // A DKIM key longer than one TXT string is answered as several.
        ok(&state, p, "v-add-mail-domain", &["bob", "bob-panel.test"]).await;
        let m = dig(&state, "mail._domainkey.bob-panel.test.", RecordType::TXT).await;
        let strings: Vec<usize> = m
            .answers()
            .iter()
            .filter_map(|r| match r.data() {
                RData::TXT(t) => Some(t.txt_data().len()),
                _ => None,
            })
            .collect();
        assert_eq!(strings.len(), 1, "one record");
        assert!(strings[0] >= 2, "split in several strings");
        ok(
            &state,
            p,
            "v-delete-mail-domain",
            &["bob", "bob-panel.test"],
        )
        .await;
        // A transfer over TCP carries the SOA, every record, the SOA again.
        let out = handle(
            &state,
            &ask("bob-panel.test.", RecordType::AXFR),
            Transport::Tcp,
        )
        .await;
        let answers: Vec<_> = out
            .iter()
            .flat_map(|b| Message::from_vec(b).expect("message").answers().to_vec())
            .collect();
        assert_eq!(answers.len(), 2 + 16);
        assert!(matches!(answers[0].data(), RData::SOA(_)));
        // A deleted zone is no longer the server's.
        ok(&state, p, "v-delete-dns-domain", &["bob", "bob-panel.test"]).await;
        let m = dig(&state, "bob-panel.test.", RecordType::A).await;
        assert_eq!(m.response_code(), ResponseCode::Refused);
    }
}
