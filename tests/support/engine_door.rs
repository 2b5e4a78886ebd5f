//! A socket of the test's own in front of the real engine (the one `DOCKER_HOST` names, as for
//! the docker CLI), for tests of brrt losing the engine and getting it back. Point brrt's
//! `DOCKER_HOST` at it. While it is shut it hangs up on every connection, and shutting it also
//! cuts the connections that are open; while it is open it forwards them. It counts the
//! connections, so a test can wait for brrt's retries.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

pub struct EngineDoor {
    open: Arc<AtomicBool>,
    knocks: Arc<AtomicUsize>,
    through: Arc<Mutex<Vec<UnixStream>>>,
}

impl EngineDoor {
    /// A door at `path`, shut.
    pub fn bind(path: &Path) -> EngineDoor {
        let listener = UnixListener::bind(path).expect("cannot bind the test's engine socket");
        let door = EngineDoor {
            open: Arc::new(AtomicBool::new(false)),
            knocks: Arc::new(AtomicUsize::new(0)),
            through: Arc::default(),
        };
        let (is_open, count, through) =
            (door.open.clone(), door.knocks.clone(), door.through.clone());
        std::thread::spawn(move || {
            for client in listener.incoming().map_while(Result::ok) {
                count.fetch_add(1, Ordering::SeqCst);
                if is_open.load(Ordering::SeqCst) {
                    if let Ok(kept) = client.try_clone() {
                        through.lock().unwrap().push(kept);
                    }
                    forward_to_engine(client);
                }
            }
        });
        door
    }

    /// `DOCKER_HOST` for this door.
    pub fn host(path: &Path) -> String {
        format!("unix://{}", path.display())
    }

    /// How many connections it has had.
    pub fn knocks(&self) -> usize {
        self.knocks.load(Ordering::SeqCst)
    }

    pub fn open(&self) {
        self.open.store(true, Ordering::SeqCst);
    }

    /// Shuts the door and cuts every connection that went through: the engine is gone.
    pub fn shut(&self) {
        self.open.store(false, Ordering::SeqCst);
        for conn in self.through.lock().unwrap().drain(..) {
            let _ = conn.shutdown(Shutdown::Both);
        }
    }
}

/// Copies bytes both ways between `client` and the engine, each way on a thread of its own.
fn forward_to_engine(client: UnixStream) {
    let engine = std::env::var("DOCKER_HOST").unwrap_or_default();
    if let Some(addr) = engine.strip_prefix("tcp://") {
        if let Ok(engine) = TcpStream::connect(addr) {
            pipe(client, engine, TcpStream::try_clone, TcpStream::shutdown);
        }
    } else {
        let path = engine
            .strip_prefix("unix://")
            .filter(|p| !p.is_empty())
            .unwrap_or("/var/run/docker.sock");
        if let Ok(engine) = UnixStream::connect(path) {
            pipe(client, engine, UnixStream::try_clone, UnixStream::shutdown);
        }
    }
}

fn pipe<S: Read + Write + Send + 'static>(
    client: UnixStream,
    engine: S,
    clone: fn(&S) -> std::io::Result<S>,
    shutdown: fn(&S, Shutdown) -> std::io::Result<()>,
) {
    let (Ok(mut c_in), Ok(mut e_out)) = (client.try_clone(), clone(&engine)) else {
        return;
    };
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut c_in, &mut e_out);
        let _ = shutdown(&e_out, Shutdown::Write);
    });
    let (mut e_in, mut c_out) = (engine, client);
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut e_in, &mut c_out);
        let _ = c_out.shutdown(Shutdown::Write);
    });
}
