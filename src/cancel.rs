//! Cancellation of a running operation from anywhere (another thread, a signal handler's
//! helper, a binding's cancel call): the core primitive behind `with_cancel`.

use std::future::Future;

use crate::error::{Code, Error, Result};

/// A token that cancels every operation of the clients it was given to
/// ([`crate::Client::with_cancel`], [`crate::blocking::Client::with_cancel`]): they end
/// promptly with `Code::Canceled`. Clones share the cancellation; once cancelled it stays
/// so (make a new token for later operations).
///
/// ```no_run
/// # fn run() -> mondoo::Result<()> {
/// let client = mondoo::blocking::Client::new(mondoo::Config::load(None)?, mondoo::ClientOptions::new())?;
/// let cancel = mondoo::CancelToken::new();
/// let cancellable = client.with_cancel(&cancel);
/// let worker = std::thread::spawn(move || cancellable.status());
/// cancel.cancel(); // e.g. on Ctrl-C: the status ends with Code::Canceled
/// match worker.join().unwrap() {
///     Err(e) if e.code() == mondoo::Code::Canceled => println!("cancelled"),
///     other => println!("{:?}", other.map(|r| r.exit_code())),
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Default)]
pub struct CancelToken(tokio_util::sync::CancellationToken);

impl CancelToken {
    /// A token not yet cancelled.
    pub fn new() -> CancelToken {
        CancelToken::default()
    }

    /// Cancel every operation using this token, now and later.
    pub fn cancel(&self) {
        self.0.cancel();
    }

    /// Whether [`CancelToken::cancel`] was called (on this token or a clone).
    pub fn is_cancelled(&self) -> bool {
        self.0.is_cancelled()
    }

    /// `operation` unless the token is (or gets) cancelled first: then `operation` is
    /// dropped where it stands (its request's connection closed) and `what` fails with
    /// `Code::Canceled`.
    pub(crate) async fn run<T>(&self, what: &str, operation: impl Future<Output = Result<T>>) -> Result<T> {
        tokio::select! {
            // cancellation first: an operation started on a cancelled token never sends
            biased;
            _ = self.0.cancelled() => Err(Error::new(Code::Canceled, format!("{what}: cancelled by the caller"))),
            result = operation => result,
        }
    }
}
