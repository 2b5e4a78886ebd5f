//! A stand-in for a Kubernetes API server that accepts connections and never answers: what a
//! wedged or overloaded API server (or a port something else listens on) looks like to a
//! client. The real server (`support::kube_apiserver`) cannot be made to do this, so only the
//! tests of that case use this stand-in. It listens on a loopback port, counts the connections
//! it accepted, keeps them open without reading or writing a byte, and closes them all when it
//! is dropped.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// A running stand-in. Stopped when dropped.
pub struct ApiServer {
    addr: SocketAddr,
    held: Arc<Mutex<Vec<TcpStream>>>,
    stopped: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
}

impl ApiServer {
    /// Accepts every connection on a loopback port the kernel picks, and never answers.
    pub fn hanging() -> ApiServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        listener
            .set_nonblocking(true)
            .expect("a non-blocking listener");
        let addr = listener.local_addr().expect("the listener's address");
        let held = Arc::new(Mutex::new(Vec::new()));
        let stopped = Arc::new(AtomicBool::new(false));
        let (keep, stop) = (held.clone(), stopped.clone());
        let accept = std::thread::spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((stream, _)) => keep.lock().unwrap().push(stream),
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(10));
                    }
                    Err(_) => break,
                }
            }
        });
        ApiServer {
            addr,
            held,
            stopped,
            accept: Some(accept),
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// How many connections it accepted so far.
    pub fn connections(&self) -> usize {
        self.held.lock().unwrap().len()
    }

    /// Writes a kubeconfig with one context, `context`, whose cluster is this server, and makes
    /// it the current context.
    pub fn write_kubeconfig(&self, path: &Path, context: &str) {
        let text = format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: {context}\nclusters:\n- name: {context}\n  cluster:\n    server: {}\ncontexts:\n- name: {context}\n  context:\n    cluster: {context}\n    user: {context}\nusers:\n- name: {context}\n  user:\n    token: stand-in-token\n",
            self.url()
        );
        std::fs::write(path, text).expect("write the kubeconfig");
    }
}

impl Drop for ApiServer {
    fn drop(&mut self) {
        self.stopped.store(true, Ordering::SeqCst);
        if let Some(t) = self.accept.take() {
            let _ = t.join();
        }
        for stream in self.held.lock().unwrap().drain(..) {
            let _ = stream.shutdown(std::net::Shutdown::Both);
        }
    }
}
