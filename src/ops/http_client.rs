//! Where brrt's HTTP clients come from: reqwest on rustls with ring (the crypto kube already
//! brings), installed as the process's TLS provider before the first client is built.

/// A reqwest client builder; the first call installs ring as the TLS provider.
pub fn builder() -> reqwest::ClientBuilder {
    static PROVIDER: std::sync::Once = std::sync::Once::new();
    PROVIDER.call_once(|| {
        // Err only when a provider is installed already, which serves as well.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
    reqwest::Client::builder()
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_https_client_builds() {
        assert!(super::builder().https_only(true).build().is_ok());
    }
}
