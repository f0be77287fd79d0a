//! The OS installer (Foreman PXE and oVirt templates), the IPMI user tool and the oVirt
//! console: their stage messages and output (001 "Reinstall", "eq/add_ipmi_user",
//! "eq/console").

use rand::Rng;

/// The installer's five stages as eq_callback shows them (001 "eq/reinstall": stage 1 is
/// quoted verbatim, the others follow its list); the final OK record comes after stage 5.
pub const STAGES: [&str; 5] = [
    " (1/5) OS installation started",
    " (2/5) Base OS installed, proceeding with post-install tasks",
    " (3/5) Post-install tasks completed, running final tasks",
    " (4/5) Install completed, restarting the server",
    " (5/5) The server is online, finishing the deployment",
];

/// The documented last words of a PXE reinstall (001 "eq/reinstall").
pub const PXE_DONE: &str = "Deploy completed, Server is online";

/// Realistic duration in milliseconds until stage `stage` is reached (0: until stage 1)
/// or, for stage 5, until the install is over; VM or bare metal.
pub fn stage_ms(vm: bool, stage: usize) -> i64 {
    let vm_ms = [30_000, 90_000, 60_000, 45_000, 30_000, 20_000];
    let bm_ms = [120_000, 420_000, 240_000, 120_000, 180_000, 60_000];
    (if vm { vm_ms } else { bm_ms })[stage.min(5)]
}

/// A random string of letters and digits.
pub fn random_alnum(len: usize) -> String {
    const CHARS: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::thread_rng();
    (0..len)
        .map(|_| CHARS[rng.gen_range(0..CHARS.len())] as char)
        .collect()
}

/// ipmitool output of creating a user in a slot.
pub fn ipmi_user_added(when: &str, slot: i64) -> String {
    format!(
        "{{\"result\":\"OK\",\"message\":\"User added\",\"debug\":\"\"}}\n{when} Set User Password command successful (user {slot})\n\n\
         {when} \n{when} Set User Access (channel 1 id {slot}) successful.\n\n{when} exit status 1\n"
    )
}

/// A virt-viewer connection file for an oVirt VM (saved by clients as console.vv).
pub fn console_vv(
    server_id: i64,
    host: &str,
    port: u16,
    password: &str,
    engine: &str,
    vm_guid: &str,
) -> String {
    format!(
        "[virt-viewer]\ntype=spice\nhost={host}\nport={port}\npassword={password}\n\
         # Password is valid for 120 seconds.\ndelete-this-file=1\nfullscreen=0\ntitle={server_id}:%d\n\
         toggle-fullscreen=shift+f11\nrelease-cursor=shift+f12\nsecure-attention=ctrl+alt+end\ntls-port={tls}\n\
         enable-smartcard=0\nenable-usb-autoshare=0\nusb-filter=-1,-1,-1,-1,0\ntls-ciphers=DEFAULT\n\
         host-subject=O=hostkey-emu.local,CN={host}\n\n[ovirt]\nhost={engine}:443\nvm-guid={vm_guid}\n\
         sso-token={sso}\nadmin=1\n",
        tls = port + 1,
        sso = random_alnum(43),
    )
}

/// A stable VM GUID for a server id.
pub fn vm_guid(server_id: i64) -> String {
    let h = format!(
        "{:032x}",
        (server_id as u128).wrapping_mul(0x9E37_79B9_7F4A_7C15_F39C_C060_5CED_C835)
    );
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_look_like_the_documents() {
        let vv = console_vv(
            34533,
            "146.0.78.94",
            6194,
            "HY14U9qL",
            "ovr-nl-engine02a.infra.hostkey-emu.local",
            &vm_guid(34533),
        );
        assert!(vv.starts_with(
            "[virt-viewer]\ntype=spice\nhost=146.0.78.94\nport=6194\npassword=HY14U9qL\n"
        ));
        assert!(vv.contains("tls-port=6195") && vv.contains("[ovirt]"));
        assert_eq!(vm_guid(1).len(), 36);
        assert!(ipmi_user_added("2021/05/17 22:46:55", 4)
            .contains("Set User Access (channel 1 id 4) successful."));
        assert_eq!(random_alnum(12).len(), 12);
    }
}
