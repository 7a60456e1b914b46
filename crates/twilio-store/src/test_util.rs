//! Helpers of the unit tests: the stores' futures need no runtime.

use std::future::Future;

use crate::{StoreError, StoreFuture};

/// Runs `future` to completion by polling it with a no-op waker (the store's futures never
/// wait on anything but themselves).
pub(crate) fn block_on<F: Future>(future: F) -> F::Output {
    let waker = std::task::Waker::noop();
    let mut cx = std::task::Context::from_waker(waker);
    let mut future = std::pin::pin!(future);
    loop {
        if let std::task::Poll::Ready(value) = future.as_mut().poll(&mut cx) {
            return value;
        }
    }
}

/// Polls a store future once: the file, memory and volume stores' futures are ready at once.
pub(crate) fn now<T>(future: StoreFuture<'_, T>) -> Result<T, StoreError> {
    let waker = std::task::Waker::noop();
    let mut cx = std::task::Context::from_waker(waker);
    match std::pin::pin!(future).poll(&mut cx) {
        std::task::Poll::Ready(result) => result,
        std::task::Poll::Pending => panic!("a store future was not ready at once"),
    }
}
