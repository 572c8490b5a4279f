//! Messages per second over delivery sessions, for comparison with Postfix's
//! `smtp-source -d` against the same `smtp-sink`:
//!
//! ```text
//! smtp-sink -u nobody 127.0.0.1:2525 512 &
//! cargo run --release -p postamt-smtp --example delivery_rate -- 127.0.0.1:2525 20000 2048 1
//! smtp-source -d -s 1 -m 20000 -l 2048 127.0.0.1:2525
//! ```
//!
//! Arguments: `HOST:PORT` (plaintext, no login), messages (default 10000), message size
//! in bytes (default 2048), sessions in parallel (default 1), and `send` to wait for each
//! answer instead of pipelining across messages with `submit` (what the workers do).

use std::time::{Duration, Instant};

use postamt_smtp::delivery::Submitted;
use postamt_smtp::{DeliveryConfig, Encryption, SmtpSession};

fn message(size: usize) -> Vec<u8> {
    let mut m = b"From: Postamt <bench@example.org>\r\nTo: sink@example.org\r\nSubject: rate\r\n\r\n".to_vec();
    let mut i = 0;
    while m.len() < size {
        m.extend_from_slice(
            format!("{i:06} the quick brown fox jumps over the lazy dog, again and again.\r\n").as_bytes(),
        );
        i += 1;
    }
    m
}

async fn run_session(cfg: DeliveryConfig, count: usize, content: Vec<u8>, pipelined: bool) -> usize {
    let recipients = vec!["sink@example.org".to_owned()];
    let mut session = SmtpSession::open(&cfg).await.expect("open");
    let mut opened = 1;
    for _ in 0..count {
        if !session.is_usable().await {
            session = SmtpSession::open(&cfg).await.expect("reopen");
            opened += 1;
        }
        if pipelined {
            let submission = session.submit("bench@example.org", &recipients, &content).await;
            submission.previous.transpose().expect("previous message");
            assert!(matches!(submission.this, Submitted::Pending), "{:?}", submission.this);
        } else {
            session.send("bench@example.org", &recipients, &content).await.expect("send");
        }
    }
    session.finish().await.transpose().expect("last message");
    session.close().await;
    opened
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let target = args.first().map(String::as_str).unwrap_or("127.0.0.1:2525");
    let (host, port) = target.rsplit_once(':').expect("HOST:PORT");
    let count: usize = args.get(1).map_or(10_000, |a| a.parse().expect("messages"));
    let size: usize = args.get(2).map_or(2_048, |a| a.parse().expect("size"));
    let sessions: usize = args.get(3).map_or(1, |a| a.parse().expect("sessions"));
    let pipelined = args.get(4).map(String::as_str) != Some("send");

    let mut cfg = DeliveryConfig::new(host, port.parse().expect("port"), Encryption::None);
    cfg.timeout = Duration::from_secs(20);
    cfg.ehlo_name = Some("postamt.bench".to_owned());
    let content = message(size);

    let started = Instant::now();
    let tasks: Vec<_> = (0..sessions)
        .map(|i| {
            let share = count / sessions + usize::from(i < count % sessions);
            tokio::spawn(run_session(cfg.clone(), share, content.clone(), pipelined))
        })
        .collect();
    let mut opened = 0;
    for task in tasks {
        opened += task.await.expect("session task");
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{count} messages of {} bytes over {sessions} session(s) ({opened} connection(s)), {}, in {secs:.2} s: {:.0} messages/s",
        content.len(),
        if pipelined { "pipelined" } else { "one answer at a time" },
        count as f64 / secs
    );
}
