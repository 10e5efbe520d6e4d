//! What the client tells the platform about the machine it runs on (AgentInfo, as Go
//! fills it: protocol section 3.1) and what status prints about it.

use std::collections::BTreeMap;
use std::net::UdpSocket;

use serde::Serialize;

use crate::rpc::AgentInfo;

/// The machine as status reports it.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SystemInfo {
    /// OS id (`/etc/os-release` `ID` on Linux, else the Rust OS name)
    pub platform_name: String,
    /// OS release (`VERSION_ID`), may be empty
    pub platform_release: String,
    /// `uname -m`
    pub platform_arch: String,
    pub hostname: String,
    /// local address of the default route, may be empty
    pub ip: String,
}

impl SystemInfo {
    pub fn gather() -> SystemInfo {
        let (platform_name, platform_release) = os_release();
        SystemInfo {
            platform_name,
            platform_release,
            platform_arch: machine_arch(),
            hostname: hostname(),
            ip: local_ip(),
        }
    }

    /// AgentInfo for RegisterAgent and the check-in.
    pub fn agent_info(&self, mrn: &str, labels: std::collections::BTreeMap<String, String>) -> AgentInfo {
        AgentInfo {
            mrn: mrn.to_string(),
            version: crate::VERSION.to_string(),
            build: BUILD.to_string(),
            platform_name: self.platform_name.clone(),
            platform_release: self.platform_release.clone(),
            platform_arch: self.platform_arch.clone(),
            platform_ip: self.ip.clone(),
            platform_hostname: self.hostname.clone(),
            labels,
            platform_id: self.platform_id(),
        }
    }

    /// AgentInfo's `platform_id`, also sent as `Mondoo-PlatformID`: Go's id for a host
    /// that is not a cloud instance.
    pub fn platform_id(&self) -> String {
        format!("//platformid.api.mondoo.app/hostname/{}", self.hostname)
    }

    /// `libmondoo/<version>`, then Go's info pairs from this machine sorted by key (Go's
    /// `scope.XInfoHeader`: `key/value`, spaces turned into `-`, one space between):
    /// `HN/<hostname> IP/<ip> PA/<arch> PN/<os> PR/<release> build/<build>`.
    pub fn user_agent(&self) -> String {
        let pairs = BTreeMap::from([
            ("HN", self.hostname.as_str()),
            ("IP", self.ip.as_str()),
            ("PA", self.platform_arch.as_str()),
            ("PN", self.platform_name.as_str()),
            ("PR", self.platform_release.as_str()),
            ("build", BUILD),
        ]);
        let mut out = format!("libmondoo/{}", crate::VERSION);
        for (key, value) in pairs {
            out.push(' ');
            out.push_str(key);
            out.push('/');
            out.push_str(&value.replace(' ', "-"));
        }
        out
    }
}

/// libmondoo's build id (`MONDOO_BUILD` at compile time), may be empty.
pub const BUILD: &str = match option_env!("MONDOO_BUILD") {
    Some(build) => build,
    None => "",
};

/// `ID` and `VERSION_ID` of an os-release document.
pub fn parse_os_release(text: &str) -> (Option<String>, Option<String>) {
    let mut id = None;
    let mut version = None;
    for line in text.lines() {
        let Some((key, value)) = line.split_once('=') else { continue };
        let value = value.trim().trim_matches('"').trim_matches('\'').to_string();
        match key.trim() {
            "ID" => id = Some(value),
            "VERSION_ID" => version = Some(value),
            _ => {}
        }
    }
    (id, version)
}

fn os_release() -> (String, String) {
    let text = std::fs::read_to_string("/etc/os-release")
        .or_else(|_| std::fs::read_to_string("/usr/lib/os-release"))
        .unwrap_or_default();
    let (id, version) = parse_os_release(&text);
    (id.unwrap_or_else(|| std::env::consts::OS.to_string()), version.unwrap_or_default())
}

#[cfg(unix)]
fn machine_arch() -> String {
    // SAFETY: uname fills a caller-owned struct; fields are NUL-terminated on success.
    unsafe {
        let mut u: libc::utsname = std::mem::zeroed();
        if libc::uname(&mut u) == 0 {
            return std::ffi::CStr::from_ptr(u.machine.as_ptr()).to_string_lossy().into_owned();
        }
    }
    std::env::consts::ARCH.to_string()
}

#[cfg(not(unix))]
fn machine_arch() -> String {
    std::env::consts::ARCH.to_string()
}

/// The fully qualified host name when the resolver knows one (`hostname -f`), else the
/// system host name.
#[cfg(unix)]
pub fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: gethostname writes at most buf.len() bytes into buf.
    let short = unsafe {
        if libc::gethostname(buf.as_mut_ptr() as *mut libc::c_char, buf.len()) != 0 {
            return String::new();
        }
        let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
        String::from_utf8_lossy(&buf[..end]).into_owned()
    };
    canonical_name(&short).unwrap_or(short)
}

#[cfg(unix)]
fn canonical_name(host: &str) -> Option<String> {
    let c_host = std::ffi::CString::new(host).ok()?;
    // SAFETY: getaddrinfo with valid NUL-terminated input; the result list is freed below.
    unsafe {
        let mut hints: libc::addrinfo = std::mem::zeroed();
        hints.ai_flags = libc::AI_CANONNAME;
        hints.ai_family = libc::AF_UNSPEC;
        let mut res: *mut libc::addrinfo = std::ptr::null_mut();
        if libc::getaddrinfo(c_host.as_ptr(), std::ptr::null(), &hints, &mut res) != 0 || res.is_null() {
            return None;
        }
        let name = if (*res).ai_canonname.is_null() {
            None
        } else {
            Some(std::ffi::CStr::from_ptr((*res).ai_canonname).to_string_lossy().into_owned())
        };
        libc::freeaddrinfo(res);
        name.filter(|n| !n.is_empty())
    }
}

#[cfg(not(unix))]
pub fn hostname() -> String {
    std::env::var("COMPUTERNAME").unwrap_or_default()
}

/// The local address of a UDP socket "connected" to 1.1.1.1:80: connecting a UDP
/// socket sends no packet, it only picks the route, as Go does.
fn local_ip() -> String {
    UdpSocket::bind("0.0.0.0:0")
        .and_then(|s| s.connect("1.1.1.1:80").map(|_| s))
        .and_then(|s| s.local_addr())
        .map(|a| a.ip().to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn os_release_id_and_version() {
        let text = "NAME=\"Debian GNU/Linux\"\nID=debian\nVERSION_ID=\"12\"\n";
        assert_eq!(parse_os_release(text), (Some("debian".into()), Some("12".into())));
        assert_eq!(parse_os_release("garbage"), (None, None));
    }

    #[test]
    fn agent_info_uses_the_hostname_platform_id() {
        let info = SystemInfo { hostname: "box.example".into(), ..Default::default() };
        let agent = info.agent_info("", Default::default());
        assert_eq!(agent.platform_id, "//platformid.api.mondoo.app/hostname/box.example");
        assert_eq!(agent.version, crate::VERSION);
        assert_eq!(info.platform_id(), agent.platform_id);
        assert!(!SystemInfo::gather().platform_arch.is_empty());
    }

    #[test]
    fn user_agent_is_libmondoo_then_go_pairs_sorted_with_spaces_as_dashes() {
        let info = SystemInfo {
            platform_name: "Windows Server".into(),
            platform_release: "2022 R2".into(),
            platform_arch: "x86_64".into(),
            hostname: "box.example".into(),
            ip: "192.0.2.1".into(),
        };
        assert_eq!(
            info.user_agent(),
            format!(
                "libmondoo/{} HN/box.example IP/192.0.2.1 PA/x86_64 PN/Windows-Server PR/2022-R2 build/{BUILD}",
                crate::VERSION
            )
        );
    }
}
