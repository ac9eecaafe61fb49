//! The names of the interfaces that exist right now (if_nameindex(3)), for `mrproxy --check`.

/// Every interface name of the calling thread's network namespace.
pub fn interface_names() -> std::io::Result<Vec<String>> {
    let list = nix::net::if_::if_nameindex().map_err(std::io::Error::from)?;
    Ok(list
        .iter()
        .map(|i| i.name().to_string_lossy().into_owned())
        .collect())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_loopback_interface_is_listed() {
        let names = super::interface_names().unwrap();
        assert!(names.iter().any(|n| n == "lo"), "{names:?}");
    }
}
