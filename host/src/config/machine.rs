//! What the machine gives this process, for defaults "sized to the machine".

/// Bytes of memory this process may use: the machine's total, or the cgroup's limit when a
/// container or a systemd unit sets a lower one. 4 GiB when neither can be read.
pub(crate) fn usable_memory() -> u64 {
    let total = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|text| {
            let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
            let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
            Some(kib * 1024)
        })
        .unwrap_or(4 << 30);
    // cgroup v2; "max" (no limit) does not parse and leaves the machine's total.
    let cgroup = std::fs::read_to_string("/sys/fs/cgroup/memory.max")
        .ok()
        .and_then(|t| t.trim().parse::<u64>().ok());
    cgroup.map_or(total, |limit| limit.min(total))
}
