//! A TCP relay in front of a backend that the test can switch off and on: an
//! outage without losing the backend's data (stopping moto would wipe it).

use std::sync::Arc;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

pub struct Outage {
    /// `http://127.0.0.1:PORT`: give this to the app instead of the backend.
    pub endpoint: String,
    down: watch::Sender<bool>,
}

impl Outage {
    pub async fn relay_to(upstream: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let upstream: Arc<str> = upstream.trim_start_matches("http://").into();
        let (down, watching) = watch::channel(false);
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let mut watching = watching.clone();
                if *watching.borrow() {
                    // Refused: the backend is out.
                    drop(client);
                    continue;
                }
                let upstream = Arc::clone(&upstream);
                tokio::spawn(async move {
                    let Ok(server) = TcpStream::connect(&*upstream).await else {
                        return;
                    };
                    let (mut client, mut server) = (client, server);
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        // Kept-alive connections die with the outage too.
                        _ = watching.wait_for(|down| *down) => {}
                    }
                });
            }
        });
        Self { endpoint, down }
    }

    pub fn begin(&self) {
        self.down.send_replace(true);
    }

    pub fn end(&self) {
        self.down.send_replace(false);
    }
}
