//! Runs a GraphQL execution together with its DataLoader batches on one task, starting batches
//! only when the execution has quiesced.
//!
//! async-graphql resolves sibling fields and list items concurrently, but a long list is polled
//! in slices (`FuturesUnordered` yields after 32 items and wakes itself). If a batch started at
//! such a yield it would carry only the keys of the first slice, and the number of statements
//! would grow with page sizes. So the batches are polled only when the execution returns
//! `Pending` without having woken itself — when every resolver that can run is waiting for data.

use futures_util::future::BoxFuture;
use futures_util::stream::{FuturesUnordered, StreamExt};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Wake, Waker};
use tokio::sync::mpsc::UnboundedReceiver;

/// Times the execution is polled in a row while it keeps waking itself, before giving the
/// runtime a turn.
const MAX_SPINS: usize = 256;

struct FlagWaker {
    woken: AtomicBool,
    inner: Waker,
}

impl Wake for FlagWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::Release);
        self.inner.wake_by_ref();
    }
}

/// The execution future and the batches its DataLoader handed over.
pub struct Driven<F> {
    exec: Pin<Box<F>>,
    batches: FuturesUnordered<BoxFuture<'static, ()>>,
    incoming: UnboundedReceiver<BoxFuture<'static, ()>>,
}

impl<F: Future> Driven<F> {
    pub fn new(exec: F, incoming: UnboundedReceiver<BoxFuture<'static, ()>>) -> Self {
        Driven {
            exec: Box::pin(exec),
            batches: FuturesUnordered::new(),
            incoming,
        }
    }
}

impl<F: Future> Future for Driven<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let flag = Arc::new(FlagWaker {
            woken: AtomicBool::new(false),
            inner: cx.waker().clone(),
        });
        let waker = Waker::from(flag.clone());
        let mut exec_cx = Context::from_waker(&waker);
        let mut quiet = false;
        for _ in 0..MAX_SPINS {
            flag.woken.store(false, Ordering::Release);
            if let Poll::Ready(out) = self.exec.as_mut().poll(&mut exec_cx) {
                return Poll::Ready(out);
            }
            if !flag.woken.load(Ordering::Acquire) {
                quiet = true;
                break;
            }
        }
        if !quiet {
            // Still busy: let the runtime run other tasks; we have already been woken.
            return Poll::Pending;
        }
        // Every runnable resolver has registered its keys: start and drive the batches.
        while let Poll::Ready(Some(batch)) = self.incoming.poll_recv(cx) {
            self.batches.push(batch);
        }
        while let Poll::Ready(Some(())) = self.batches.poll_next_unpin(cx) {}
        Poll::Pending
    }
}
