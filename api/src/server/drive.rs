//! Runs a GraphQL execution together with its DataLoader batches on one task, starting batches
//! only when the execution has quiesced.
//!
//! async-graphql resolves sibling fields and list items concurrently, but a long list is polled
//! in slices (`FuturesUnordered` yields after 32 items and wakes itself). If a batch started at
//! such a yield it would carry only the keys of the first slice, and the number of statements
//! would grow with page sizes. So the batches are polled only when the execution returns
//! `Pending` without having woken itself — when every resolver that can run is waiting for data.

use crate::db::STATEMENTS;
use futures_util::Stream;
use futures_util::future::BoxFuture;
use futures_util::stream::{FuturesUnordered, StreamExt};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
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

/// Polls `exec` until it is ready or quiet (pending without having woken itself); once quiet,
/// starts and drives the batches handed over meanwhile. The one algorithm of [`Driven`] and
/// [`DrivenStream`].
fn drive<T>(
    cx: &mut Context<'_>,
    batches: &mut FuturesUnordered<BoxFuture<'static, ()>>,
    incoming: &mut UnboundedReceiver<BoxFuture<'static, ()>>,
    mut exec: impl FnMut(&mut Context<'_>) -> Poll<T>,
) -> Poll<T> {
    let flag = Arc::new(FlagWaker {
        woken: AtomicBool::new(false),
        inner: cx.waker().clone(),
    });
    let waker = Waker::from(flag.clone());
    let mut exec_cx = Context::from_waker(&waker);
    let mut quiet = false;
    for _ in 0..MAX_SPINS {
        flag.woken.store(false, Ordering::Release);
        if let Poll::Ready(out) = exec(&mut exec_cx) {
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
    while let Poll::Ready(Some(batch)) = incoming.poll_recv(cx) {
        batches.push(batch);
    }
    while let Poll::Ready(Some(())) = batches.poll_next_unpin(cx) {}
    Poll::Pending
}

impl<F: Future> Future for Driven<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = &mut *self;
        drive(cx, &mut this.batches, &mut this.incoming, |cx| {
            this.exec.as_mut().poll(cx)
        })
    }
}

/// A subscription's event stream and the batches of its DataLoader, polled like [`Driven`],
/// with the operation's caps and statement counter in scope (statements run while its events are
/// resolved count to it).
pub struct DrivenStream<S> {
    events: S,
    batches: FuturesUnordered<BoxFuture<'static, ()>>,
    incoming: UnboundedReceiver<BoxFuture<'static, ()>>,
    counter: Arc<AtomicU64>,
    caps: crate::caps::Caps,
}

impl<S: Stream + Unpin> DrivenStream<S> {
    pub fn new(
        events: S,
        incoming: UnboundedReceiver<BoxFuture<'static, ()>>,
        counter: Arc<AtomicU64>,
        caps: crate::caps::Caps,
    ) -> Self {
        DrivenStream {
            events,
            batches: FuturesUnordered::new(),
            incoming,
            counter,
            caps,
        }
    }
}

impl<S: Stream + Unpin> Stream for DrivenStream<S> {
    type Item = S::Item;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        let this = &mut *self;
        let counter = this.counter.clone();
        crate::caps::sync_scope(this.caps, || {
            STATEMENTS.sync_scope(counter, || {
                drive(cx, &mut this.batches, &mut this.incoming, |cx| {
                    this.events.poll_next_unpin(cx)
                })
            })
        })
    }
}
