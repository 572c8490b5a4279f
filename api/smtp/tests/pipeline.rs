//! Pipelined delivery ([`SmtpSession::submit`] and [`SmtpSession::finish`]) against the
//! real aiosmtpd test server: each answer goes to its own message, a rejection of one
//! message leaves the next alone, and a connection lost while an answer is pending fails
//! that message as maybe accepted and leaves the next untried.

mod common;

use std::time::{Duration, Instant};

use common::delivery::*;
use common::RECIPIENT;
use postamt_smtp::delivery::{Submission, Submitted};
use postamt_smtp::{DeliveryFailure, DeliveryReceipt, Encryption, SmtpSession};
use postamt_wire::{FailureClass, SettingsField, StageName};

/// Text that makes the test server reject a message after its content.
const SPAM: &str = "SPAM-MARKER";
/// Text that makes the test server answer 421 after the content and close.
const SHUTDOWN: &str = "SHUTDOWN-MARKER";

fn marked(i: usize, marker: &str) -> Vec<u8> {
    let mut m = message(i, 3);
    m.extend_from_slice(format!("{marker}\r\n").as_bytes());
    m
}

async fn submit(session: &mut SmtpSession, recipients: &[String], content: &[u8]) -> Submission {
    let started = Instant::now();
    let submission = session.submit(FROM, recipients, content).await;
    let elapsed = started.elapsed();
    let timeout = session.config().timeout;
    assert!(elapsed <= timeout + Duration::from_secs(1), "submit took {elapsed:?}, timeout {timeout:?}");
    if let Some(Err(failure)) = &submission.previous {
        check(failure);
    }
    if let Submitted::Failed(failure) = &submission.this {
        check(failure);
    }
    submission
}

fn accepted(outcome: &Result<DeliveryReceipt, DeliveryFailure>) -> bool {
    matches!(outcome, Ok(receipt) if receipt.reply == "250 2.0.0 Message accepted for delivery")
}

fn rejected_as_spam(outcome: &Result<DeliveryReceipt, DeliveryFailure>) -> bool {
    matches!(outcome, Err(f) if (f.stage, f.class, f.permanent) == (StageName::Data, FailureClass::MessageRejected, true)
        && f.reply.as_deref() == Some("554 5.7.1 Message rejected as spam"))
}

/// Submits `n` messages (those at `spam` marked for rejection) and returns each one's
/// outcome in order.
async fn submit_all(
    session: &mut SmtpSession,
    n: usize,
    spam: &[usize],
) -> Vec<Result<DeliveryReceipt, DeliveryFailure>> {
    let recipients = to(&[RECIPIENT]);
    let mut outcomes = Vec::new();
    for i in 0..n {
        let content = if spam.contains(&i) { marked(i, SPAM) } else { message(i, 20) };
        let Submission { previous, this } = submit(session, &recipients, &content).await;
        assert_eq!(previous.is_some(), i > 0, "message {i}: the previous answer comes with the next submit");
        outcomes.extend(previous);
        assert!(matches!(this, Submitted::Pending), "message {i}: {this:?}");
        assert!(session.is_pending());
    }
    outcomes.push(session.finish().await.expect("the last answer is pending"));
    assert!(!session.is_pending());
    assert!(session.finish().await.is_none(), "nothing left to read");
    outcomes
}

async fn pipelined_run(pipelining: bool) {
    let mut args = vec!["--reject-data-containing", "SPAM-MARKER=554 5.7.1 Message rejected as spam"];
    if pipelining {
        args.push("--pipelining");
    }
    let server = start("none", None, &args).await;
    let cfg = delivery_config("127.0.0.1", server.port, Encryption::None, 10);
    let mut session = open(&cfg).await.expect("open");
    assert_eq!(session.pipelining(), pipelining);
    let n = 200;
    let spam = [0, 7, 8, 120, n - 1];
    let started = Instant::now();
    let outcomes = submit_all(&mut session, n, &spam).await;
    let rate = n as f64 / started.elapsed().as_secs_f64();
    eprintln!("aiosmtpd, PIPELINING {pipelining}: {rate:.0} messages/s submitted");
    assert_eq!(outcomes.len(), n);
    for (i, outcome) in outcomes.iter().enumerate() {
        if spam.contains(&i) {
            assert!(rejected_as_spam(outcome), "message {i}: {outcome:?}");
        } else {
            assert!(accepted(outcome), "message {i}: {outcome:?}");
        }
    }
    assert!(session.is_usable().await, "a rejected message leaves the session usable");
    assert_eq!(session.messages_sent(), (n - spam.len()) as u64);
    session.close().await;

    let deliveries = server.deliveries();
    let expected: Vec<usize> = (0..n).filter(|i| !spam.contains(i)).collect();
    assert_eq!(deliveries.len(), expected.len());
    for (delivered, i) in deliveries.iter().zip(&expected) {
        let content = delivered["content"].as_str().unwrap();
        assert_eq!(content, String::from_utf8_lossy(&message(*i, 20)), "message {i} changed in transit");
        assert_eq!(delivered["conn"], 1, "every message over the first connection");
    }
    assert_eq!(count(&server, "connect"), 1);
    assert_eq!(count(&server, "rset"), 0, "no RSET after a rejected content: its transaction is over");
}

#[tokio::test]
async fn pipelined_messages_each_get_their_own_answer() {
    pipelined_run(true).await;
}

#[tokio::test]
async fn without_pipelining_submit_reads_the_pending_answer_first() {
    pipelined_run(false).await;
}

#[tokio::test]
async fn a_421_after_a_message_fails_it_and_leaves_the_next_untried() {
    let server = start(
        "none",
        None,
        &["--pipelining", "--reject-data-containing", "SHUTDOWN-MARKER=421 4.3.2 Service shutting down"],
    )
    .await;
    let cfg = delivery_config("127.0.0.1", server.port, Encryption::None, 10);
    let recipients = to(&[RECIPIENT]);
    let mut session = open(&cfg).await.expect("open");
    let first = submit(&mut session, &recipients, &message(0, 3)).await;
    assert!(first.previous.is_none() && matches!(first.this, Submitted::Pending));
    let second = submit(&mut session, &recipients, &marked(1, SHUTDOWN)).await;
    assert!(accepted(second.previous.as_ref().unwrap()), "{second:?}");
    let third = submit(&mut session, &recipients, &message(2, 3)).await;
    let failure = third.previous.expect("the 421 is the second message's answer").unwrap_err();
    assert_eq!(
        (failure.stage, failure.class, failure.reply_code),
        (StageName::Data, FailureClass::TemporaryFailure, Some(421))
    );
    assert!(!failure.permanent);
    assert!(matches!(third.this, Submitted::Untried), "{:?}", third.this);
    assert!(!session.is_usable().await);
    session.close().await;

    // The untried message goes again over a new session.
    let mut session = open(&cfg).await.expect("reopen");
    send(&mut session, &recipients, &message(2, 3)).await.expect("send after reopening");
    let delivered: Vec<(String, i64)> = server
        .deliveries()
        .iter()
        .map(|d| (d["content"].as_str().unwrap().to_owned(), d["conn"].as_i64().unwrap()))
        .collect();
    assert_eq!(delivered.len(), 2, "the second was refused, the third sent once: {delivered:?}");
    assert!(delivered[0].0.contains("Rechnung 0") && delivered[0].1 == 1);
    assert!(delivered[1].0.contains("Rechnung 2") && delivered[1].1 == 2);
}

#[tokio::test]
async fn an_answer_that_never_comes_fails_as_maybe_accepted_and_the_next_is_untried() {
    let server = start("none", None, &["--pipelining", "--stall", "data:20"]).await;
    let cfg = delivery_config("127.0.0.1", server.port, Encryption::None, 2);
    let recipients = to(&[RECIPIENT]);
    let mut session = open(&cfg).await.expect("open");
    let first = submit(&mut session, &recipients, &message(0, 3)).await;
    assert!(matches!(first.this, Submitted::Pending), "the content is written without waiting");
    let started = Instant::now();
    let second = submit(&mut session, &recipients, &message(1, 3)).await;
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_millis(1_900) && elapsed <= Duration::from_secs(3), "{elapsed:?}");
    let failure = second.previous.expect("the first message's outcome").unwrap_err();
    assert_eq!(
        (failure.stage, failure.class, failure.field),
        (StageName::Data, FailureClass::Timeout, Some(SettingsField::TimeoutSeconds))
    );
    assert!(!failure.permanent);
    assert!(failure.detail.as_deref().unwrap().contains("may have accepted it"), "{failure:#?}");
    assert!(matches!(second.this, Submitted::Untried), "{:?}", second.this);
    assert!(!session.is_usable().await);

    // The same through finish.
    let mut session = open(&cfg).await.expect("reopen");
    assert!(matches!(submit(&mut session, &recipients, &message(2, 3)).await.this, Submitted::Pending));
    let failure = session.finish().await.unwrap().unwrap_err();
    assert_eq!((failure.stage, failure.class), (StageName::Data, FailureClass::Timeout));
    assert!(!session.is_usable().await);
}

#[tokio::test]
async fn a_rejected_recipient_of_the_next_message_leaves_the_pending_one_alone() {
    let server = start("none", None, &["--pipelining", "--reject-rcpt-address", "nobody@example.org"]).await;
    let cfg = delivery_config("127.0.0.1", server.port, Encryption::None, 10);
    let good = to(&[RECIPIENT]);
    let mut session = open(&cfg).await.expect("open");
    assert!(matches!(submit(&mut session, &good, &message(0, 3)).await.this, Submitted::Pending));

    let bad = submit(&mut session, &to(&["nobody@example.org"]), &message(1, 3)).await;
    assert!(accepted(bad.previous.as_ref().unwrap()), "{bad:?}");
    let Submitted::Failed(failure) = bad.this else { panic!("{:?}", bad.this) };
    assert_eq!((failure.stage, failure.class), (StageName::RcptTo, FailureClass::RecipientRejected));
    assert!(failure.permanent && !session.is_pending());
    assert!(session.is_usable().await, "RSET after the rejection");

    let next = submit(&mut session, &good, &message(2, 3)).await;
    assert!(next.previous.is_none() && matches!(next.this, Submitted::Pending), "{next:?}");
    assert!(accepted(&session.finish().await.unwrap()));
    let delivered = server.deliveries();
    assert_eq!(delivered.len(), 2);
    assert!(delivered.iter().all(|d| d["conn"] == 1));
}

#[tokio::test]
async fn a_message_refused_before_sending_leaves_the_pending_answer_pending() {
    let server = start("none", None, &["--pipelining"]).await;
    let cfg = delivery_config("127.0.0.1", server.port, Encryption::None, 10);
    let mut session = open(&cfg).await.expect("open");
    assert!(matches!(submit(&mut session, &to(&[RECIPIENT]), &message(0, 3)).await.this, Submitted::Pending));

    let invalid = submit(&mut session, &to(&["a@example.org>\r\nRSET"]), &message(1, 3)).await;
    assert!(invalid.previous.is_none(), "nothing was written, so nothing was read");
    let Submitted::Failed(failure) = invalid.this else { panic!("{:?}", invalid.this) };
    assert_eq!((failure.class, failure.field), (FailureClass::InvalidSettings, Some(SettingsField::Recipient)));

    // send() would lose the pending answer: it refuses.
    let refused = session.send(FROM, &to(&[RECIPIENT]), &message(2, 3)).await.unwrap_err();
    assert!(refused.detail.as_deref().unwrap().contains("finish it first"), "{refused:#?}");
    assert!(session.is_pending());
    assert!(accepted(&session.finish().await.unwrap()));
    send(&mut session, &to(&[RECIPIENT]), &message(3, 3)).await.expect("send after finishing");
    assert_eq!(server.deliveries().len(), 2);
}
