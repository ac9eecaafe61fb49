//! Reading what systemd allows (`systemd-analyze syscall-filter`) and what the daemon did
//! (`strace -f` output), for e2e_unit.rs.

use std::collections::{BTreeMap, BTreeSet, HashMap};

/// `systemd-analyze syscall-filter`: each group is a line `@name` followed by indented members
/// (system calls or other `@groups`) and `#` comments, up to a blank line.
pub fn parse_groups(text: &str) -> HashMap<String, Vec<String>> {
    let mut groups: HashMap<String, Vec<String>> = HashMap::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        let item = line.trim();
        if item.is_empty() {
            current = None;
        } else if item.starts_with('#') {
        } else if !line.starts_with(char::is_whitespace) {
            current = item.starts_with('@').then(|| item.to_owned());
            if let Some(name) = &current {
                groups.entry(name.clone()).or_default();
            }
        } else if let Some(name) = &current {
            groups.get_mut(name).unwrap().push(item.to_owned());
        }
    }
    groups
}

/// The system calls of `group`, its `@` members expanded recursively.
pub fn expand(groups: &HashMap<String, Vec<String>>, group: &str) -> BTreeSet<String> {
    fn walk(
        groups: &HashMap<String, Vec<String>>,
        group: &str,
        seen: &mut BTreeSet<String>,
        out: &mut BTreeSet<String>,
    ) {
        if !seen.insert(group.to_owned()) {
            return;
        }
        let members = groups
            .get(group)
            .unwrap_or_else(|| panic!("systemd-analyze syscall-filter lists no {group}"));
        for m in members {
            if m.starts_with('@') {
                walk(groups, m, seen, out);
            } else {
                out.insert(m.clone());
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(groups, group, &mut BTreeSet::new(), &mut out);
    out
}

/// What the unit allows: `@system-service` without `@resources`.
pub fn allowed_syscalls(groups: &HashMap<String, Vec<String>>) -> BTreeSet<String> {
    let resources = expand(groups, "@resources");
    let mut allowed = expand(groups, "@system-service");
    allowed.retain(|s| !resources.contains(s));
    allowed
}

/// What a trace shows the daemon did.
#[derive(Debug, Default)]
pub struct Trace {
    /// System call name → how many calls.
    pub syscalls: BTreeMap<String, usize>,
    /// The first argument of every `socket()` call.
    pub families: BTreeSet<String>,
    /// Calls `MemoryDenyWriteExecute=` rejects, whole lines.
    pub write_execute: Vec<String>,
}

/// Parses `strace -f -o FILE` output (`PID name(args) = result` lines, `<... name resumed>`
/// continuations, `---`/`+++` signal and exit lines), from the line where the daemon's binary is
/// executed (`execve("<binary>", …) = 0`) on. What comes before is strace's child, `setpriv` and
/// `env` setting up the user, the capabilities and the environment: under the unit systemd does
/// that work itself and installs the filter just before that `execve`, which it then applies to.
pub fn parse_trace(text: &str, binary: &str) -> Trace {
    let exec = format!("execve(\"{binary}\",");
    let mut trace = Trace::default();
    let mut started = false;
    for line in text.lines() {
        let call = line.trim_start_matches(|c: char| c.is_ascii_digit() || c == ' ');
        let call = match call.strip_prefix("[pid ") {
            Some(rest) => rest.split_once(']').map_or("", |(_, c)| c.trim_start()),
            None => call,
        };
        if !started {
            started = call.starts_with(&exec) && call.trim_end().ends_with("= 0");
            if !started {
                continue;
            }
        }
        let name_len = call
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(call.len());
        if name_len == 0 || !call[name_len..].starts_with('(') {
            continue; // resumed, signal, exit and strace's own notes
        }
        let (name, args) = (&call[..name_len], &call[name_len + 1..]);
        *trace.syscalls.entry(name.to_owned()).or_default() += 1;
        if name == "socket" {
            let family = args.split([',', ')']).next().unwrap_or_default().trim();
            trace.families.insert(family.to_owned());
        }
        // systemd.exec(5), MemoryDenyWriteExecute=: mmap with PROT_WRITE and PROT_EXEC,
        // mprotect and pkey_mprotect with PROT_EXEC, shmat with SHM_EXEC are refused.
        let rejected = match name {
            "mmap" => args.contains("PROT_WRITE") && args.contains("PROT_EXEC"),
            "mprotect" | "pkey_mprotect" => args.contains("PROT_EXEC"),
            "shmat" => args.contains("SHM_EXEC"),
            _ => false,
        };
        if rejected {
            trace.write_execute.push(line.to_owned());
        }
    }
    assert!(started, "no {exec}…) = 0 in the trace");
    trace
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_expand_recursively_and_resources_are_taken_out() {
        let listing = "@default\n    # always\n    read\n    exit\n\n@resources\n    # r\n    \
                       setrlimit\n\n@inner\n    sendmsg\n    @default\n\n@system-service\n    \
                       # s\n    @inner\n    @resources\n    umask\n\n# Ungrouped:\n#   foo\n";
        let allowed = allowed_syscalls(&parse_groups(listing));
        let want: BTreeSet<String> = ["exit", "read", "sendmsg", "umask"]
            .map(String::from)
            .into();
        assert_eq!(allowed, want);
    }

    #[test]
    fn the_trace_counts_from_the_daemons_execve_with_its_threads() {
        let text = "\
    10 execve(\"/usr/bin/setpriv\", [\"setpriv\"], 0x0 /* 3 vars */) = 0
    10 prlimit64(0, RLIMIT_NOFILE, NULL, {rlim_cur=1024}) = 0
    10 execve(\"/bin/mrproxy\", [\"mrproxy\"], 0x0 /* 3 vars */) = 0
    10 mmap(NULL, 4096, PROT_READ|PROT_EXEC, MAP_PRIVATE, 3, 0) = 0x7f00
    10 socket(AF_NETLINK, SOCK_RAW|SOCK_CLOEXEC, NETLINK_ROUTE) = 3
    10 clone3({flags=CLONE_VM, ...}, 88 <unfinished ...>
    11 futex(0x7f0, FUTEX_WAIT_PRIVATE, 0, NULL <unfinished ...>
    10 <... clone3 resumed>) = 11
    10 --- SIGHUP {si_signo=SIGHUP, si_code=SI_USER} ---
    11 <... futex resumed>) = 0
    [pid 11] socket(AF_PACKET, SOCK_RAW, 0) = -1 EPERM (Operation not permitted)
    11 mprotect(0x7f00, 4096, PROT_READ|PROT_EXEC) = 0
    10 exit_group(0) = ?
    10 +++ exited with 0 +++
    ";
        let trace = parse_trace(text, "/bin/mrproxy");
        let names: Vec<&str> = trace.syscalls.keys().map(String::as_str).collect();
        assert_eq!(
            names,
            [
                "clone3",
                "execve",
                "exit_group",
                "futex",
                "mmap",
                "mprotect",
                "socket"
            ]
        );
        assert_eq!(trace.syscalls["execve"], 1);
        assert_eq!(
            trace.families,
            ["AF_NETLINK", "AF_PACKET"].map(String::from).into()
        );
        assert_eq!(trace.write_execute.len(), 1, "{:?}", trace.write_execute);
        assert!(trace.write_execute[0].contains("mprotect"));
    }
}
