"""Awaiting .NET tasks from asyncio: results, faults, cancellation, async streams, no leaks."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Any

import pytest

import pyclrbridge
from tests.conftest import assert_clean_exit, run_python


@pytest.fixture(scope="module")
def ops(fixtures: Any) -> Any:
    from Fixtures.Async import AsyncOps

    return AsyncOps


@pytest.fixture(scope="module")
def completion(fixtures: Any) -> Any:
    from Fixtures.Async import Completion

    return Completion


def run(coro: Any) -> Any:
    return asyncio.run(coro)


# ---- results --------------------------------------------------------------------------


def test_await_task_of_int_returns_its_result(ops: Any) -> None:
    assert run(_await(ops.DelayThenReturn(20, 42))) == 42


def test_await_plain_task_returns_none(ops: Any) -> None:
    assert run(_await(ops.Delay(5))) is None


def test_await_already_completed_task_returns_its_result(ops: Any) -> None:
    assert run(_await(ops.FromResult(7))) == 7


def test_await_task_completed_on_a_pool_thread(ops: Any) -> None:
    assert run(_await(ops.CompletedOnPool(3))) == 3


def test_await_synchronous_value_task_of_int(ops: Any) -> None:
    assert run(_await(ops.ValueTaskInt(8))) == 8


def test_await_asynchronous_value_task_of_int(ops: Any) -> None:
    assert run(_await(ops.ValueTaskDelayed(10, 9))) == 9


def test_value_task_awaited_twice_gives_its_result_twice(ops: Any) -> None:
    async def main() -> tuple[int, int]:
        value_task = ops.ValueTaskDelayed(5, 4)
        return await value_task, await value_task

    assert run(main()) == (4, 4)


def test_await_plain_value_task_returns_none(ops: Any) -> None:
    assert run(_await(ops.ValueTaskPlain())) is None


def test_task_completed_by_hand_from_another_thread(completion: Any) -> None:
    async def main() -> int:
        c = completion()
        threading.Timer(0.02, c.Complete, args=(11,)).start()
        return int(await c.Task)

    assert run(main()) == 11


def test_task_completed_later_on_the_thread_pool(completion: Any) -> None:
    async def main() -> int:
        c = completion()
        c.CompleteLater(10, 12)
        return int(await c.Task)

    assert run(main()) == 12


def test_execution_resumes_on_the_event_loop_thread(ops: Any) -> None:
    async def main() -> tuple[int, int]:
        before = threading.get_ident()
        await ops.CompletedOnPool(1)
        await ops.DelayThenReturn(5, 1)
        return before, threading.get_ident()

    before, after = run(main())
    assert before == after == threading.get_ident()


def test_python_callable_run_on_the_pool_is_awaitable(ops: Any) -> None:
    assert run(_await(ops.RunOnPool(lambda: 5))) == 5


# ---- faults and cancellation ----------------------------------------------------------


def test_faulted_task_raises_the_single_inner_exception(ops: Any) -> None:
    from System import InvalidOperationException

    with pytest.raises(InvalidOperationException, match="boom"):
        run(_await(ops.Faulted("boom")))


def test_already_faulted_task_raises_its_exception(ops: Any) -> None:
    from System import InvalidOperationException

    with pytest.raises(InvalidOperationException, match="early"):
        run(_await(ops.FaultedSync("early")))


def test_task_failed_by_hand_raises_its_exception(completion: Any) -> None:
    from System import InvalidOperationException

    async def main() -> None:
        c = completion()
        threading.Timer(0.02, c.Fail, args=("by hand",)).start()
        await c.Task

    with pytest.raises(InvalidOperationException, match="by hand"):
        run(main())


def test_fault_with_several_inner_exceptions_raises_the_aggregate(ops: Any) -> None:
    from System import AggregateException

    with pytest.raises(AggregateException) as info:
        run(_await(ops.FaultedAggregate()))
    # Task.WhenAll lists inner exceptions in the order the tasks failed, which varies.
    assert sorted(type(e).__name__ for e in info.value.InnerExceptions) == [
        "FormatException",
        "InvalidOperationException",
    ]


def test_python_exception_from_a_pool_callable_comes_back_as_itself(ops: Any) -> None:
    def fail() -> int:
        raise KeyError("from python")

    with pytest.raises(KeyError, match="from python"):
        run(_await(ops.RunOnPool(fail)))


def test_canceled_task_raises_task_canceled_exception(ops: Any) -> None:
    from System.Threading.Tasks import TaskCanceledException

    with pytest.raises(TaskCanceledException):
        run(_await(ops.Canceled()))


def test_task_canceled_by_hand_raises_task_canceled_exception(completion: Any) -> None:
    from System.Threading.Tasks import TaskCanceledException

    async def main() -> None:
        c = completion()
        threading.Timer(0.02, c.Cancel).start()
        await c.Task

    with pytest.raises(TaskCanceledException):
        run(main())


def test_cancelling_the_asyncio_task_cancels_the_dotnet_operation(ops: Any) -> None:
    async def main() -> Any:
        with pyclrbridge.cancellation() as cancel:
            net_task = ops.Cancellable(10_000, cancel.token)
            waiter = asyncio.ensure_future(_await(net_task))
            await asyncio.sleep(0.05)
            waiter.cancel()
            with pytest.raises(asyncio.CancelledError):
                await waiter
            assert cancel.cancelled
            for _ in range(200):
                if net_task.IsCompleted:
                    break
                await asyncio.sleep(0.01)
            return net_task

    started = time.monotonic()
    net_task = run(main())
    assert net_task.IsCanceled
    assert time.monotonic() - started < 5


def test_asyncio_timeout_cancels_the_dotnet_operation(ops: Any) -> None:
    async def main() -> bool:
        with pyclrbridge.cancellation() as cancel:
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(_await(ops.Cancellable(10_000, cancel.token)), 0.05)
            return bool(cancel.cancelled)

    started = time.monotonic()
    assert run(main())
    assert time.monotonic() - started < 5


def test_cancel_by_hand_makes_the_await_raise(ops: Any) -> None:
    from System.Threading.Tasks import TaskCanceledException

    async def main() -> None:
        async with pyclrbridge.cancellation() as cancel:
            asyncio.get_running_loop().call_later(0.02, cancel.cancel)
            await ops.Cancellable(10_000, cancel.token)

    with pytest.raises(TaskCanceledException):
        run(main())


def test_asyncio_cancellation_outside_a_scope_leaves_the_dotnet_task_running(completion: Any) -> None:
    async def main() -> Any:
        c = completion()
        waiter = asyncio.ensure_future(_await(c.Task))
        await asyncio.sleep(0.01)
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
        return c

    c = run(main())
    assert not c.IsCompleted
    assert c.Complete(1)


# ---- async streams --------------------------------------------------------------------


def test_async_for_over_an_async_enumerable(ops: Any) -> None:
    async def main() -> list[int]:
        return [int(x) async for x in ops.Range(5, 1)]

    assert run(main()) == [0, 1, 2, 3, 4]


def test_async_for_inside_a_cancellation_scope_stops_when_cancelled(ops: Any) -> None:
    from System import OperationCanceledException

    async def main() -> list[int]:
        seen: list[int] = []
        with pyclrbridge.cancellation() as cancel, pytest.raises(OperationCanceledException):
            async for x in ops.Range(1000, 5):
                seen.append(int(x))
                if len(seen) == 3:
                    cancel.cancel()
        return seen

    assert run(main()) == [0, 1, 2]


def test_async_with_disposes_an_async_disposable(clr: Any) -> None:
    from System.IO import MemoryStream

    async def main() -> Any:
        async with MemoryStream() as stream:
            stream.WriteByte(1)
            assert stream.CanRead
        return stream

    assert not run(main()).CanRead  # a disposed stream can no longer be read


# ---- concurrency, blocking and leaks --------------------------------------------------


def test_hundred_concurrent_awaits_on_one_loop(ops: Any, completion: Any) -> None:
    async def main() -> list[int]:
        hand = [completion() for _ in range(25)]
        awaits = [_await(ops.DelayThenReturn(1 + i % 20, i)) for i in range(50)]
        awaits += [_await(ops.CompletedOnPool(50 + i)) for i in range(25)]
        awaits += [_await(c.Task) for c in hand]
        for i, c in enumerate(hand):
            c.CompleteLater(i % 10, 75 + i)
        return [int(x) for x in await asyncio.gather(*awaits)]

    assert run(main()) == list(range(100))


def test_awaits_on_loops_in_several_threads(ops: Any) -> None:
    results: dict[int, list[int]] = {}

    def worker(k: int) -> None:
        async def main() -> list[int]:
            return [
                int(x) for x in await asyncio.gather(*(_await(ops.DelayThenReturn(2, k * 100 + i)) for i in range(20)))
            ]

        results[k] = asyncio.run(main())

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert results == {k: [k * 100 + i for i in range(20)] for k in range(4)}


def test_awaits_leave_no_handles_tasks_or_callbacks_behind(fixtures: Any, ops: Any, completion: Any) -> None:
    async def main() -> None:
        await asyncio.gather(*(_await(ops.DelayThenReturn(1, i)) for i in range(50)))
        await asyncio.gather(*(_await(ops.ValueTaskDelayed(1, i)) for i in range(20)))
        for _ in range(10):
            with pytest.raises(Exception):
                await ops.Faulted("x")
        with pyclrbridge.cancellation() as cancel, pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(_await(ops.Cancellable(10_000, cancel.token)), 0.01)
        _ = [x async for x in ops.Range(5, 0)]

    run(main())  # warm up: classes, invokers and the sink exist from here on
    fixtures.collect()
    before = fixtures.stats()
    run(main())
    fixtures.collect()
    after = fixtures.stats()
    assert after["live_handles"] == before["live_handles"]
    assert after["python_registry"] == before["python_registry"]
    assert after["pending_awaits"] == 0
    assert after["watched_tasks"] == 0


def test_blocking_on_result_lets_other_python_threads_run(completion: Any) -> None:
    c = completion()
    c.CompleteLater(300, 21)
    progress = _count_in_background(lambda: c.Task.Result)
    assert progress.result == 21
    assert progress.ticks > 20


def test_blocking_on_wait_lets_other_python_threads_run(completion: Any) -> None:
    c = completion()
    c.CompleteLater(300, 1)
    progress = _count_in_background(lambda: c.Task.Wait())
    assert progress.ticks > 20


def test_completion_after_the_loop_closed_is_ignored(fixtures: Any, completion: Any) -> None:
    c = completion()
    loop = asyncio.new_event_loop()
    loop.set_exception_handler(lambda loop, context: None)  # the abandoned task is expected
    waiter = loop.create_task(_await(c.Task))
    loop.run_until_complete(asyncio.sleep(0.01))
    loop.close()
    assert c.Complete(3)
    for _ in range(200):
        if fixtures.stats()["pending_awaits"] == 0:
            break
        time.sleep(0.01)
    assert fixtures.stats()["pending_awaits"] == 0
    assert not waiter.done()


def test_exit_while_dotnet_tasks_are_still_running_is_clean(fixtures_dll: Path) -> None:
    proc = run_python(
        """
        import asyncio, os, pyclrbridge
        clr = pyclrbridge.load()
        clr.add_reference(os.environ["FIXTURES_DLL"])
        from Fixtures.Async import AsyncOps, Completion

        async def main():
            pending = [Completion() for _ in range(20)]
            for i, c in enumerate(pending):
                c.CompleteLater(50 + i, i)   # completes while the interpreter exits
            waiters = [asyncio.ensure_future(asyncio.wait_for(c.Task, 10)) for c in pending]
            print(await AsyncOps.DelayThenReturn(5, 1))
            return waiters

        asyncio.run(main())
        print("done")
        """,
        fixtures_dll=fixtures_dll,
    )
    assert_clean_exit(proc)
    assert proc.stdout.split() == ["1", "done"]


# ---- buffers written by a task (issue 25.4) ---------------------------------------------
# A writable Python buffer passed to a method returning a task sees .NET's writes when the task
# completes (not when the call returns, before the read happened). The reads below are issued
# before the other end sends anything, so they complete later, on a .NET thread.


class _Loopback:
    """A connected pair of TCP sockets over the loopback interface."""

    def __init__(self) -> None:
        from System.Net import IPAddress
        from System.Net.Sockets import TcpClient, TcpListener

        self.listener = TcpListener(IPAddress.Loopback, 0)
        self.listener.Start()
        self.client = TcpClient()
        self.client.Connect(IPAddress.Loopback, self.listener.LocalEndpoint.Port)
        self.server = self.listener.AcceptTcpClient()
        self.reader = self.client.GetStream()  # NetworkStream
        self.writer = self.server.GetStream()

    def send(self, data: bytes) -> None:
        self.writer.Write(data, 0, len(data))

    def close(self) -> None:
        self.client.Close()
        self.server.Close()
        self.listener.Stop()


@pytest.fixture
def loopback(clr: Any) -> Any:
    pair = _Loopback()
    yield pair
    pair.close()


def _data(i: int, n: int) -> bytes:
    return bytes((i * 7 + k) % 256 for k in range(n))


def test_awaited_network_stream_read_async_fills_the_bytearray(loopback: Any) -> None:
    async def main() -> list[int]:
        bad = []
        for i in range(20):
            buf = bytearray(16)
            task = loopback.reader.ReadAsync(buf, 0, 16)  # Task<int> ReadAsync(byte[], int, int)
            loopback.send(_data(i, 16))
            assert await task == 16
            if buf != _data(i, 16):
                bad.append(i)
            buf.extend(b"!")  # the buffer is no longer held once the task is seen complete
        return bad

    assert run(main()) == []


def test_wait_and_result_see_the_writes_too(loopback: Any) -> None:
    buf = bytearray(8)
    task = loopback.reader.ReadAsync(buf, 0, 8)
    loopback.send(b"abcdefgh")
    task.Wait()
    assert buf == b"abcdefgh" and task.Result == 8
    view = memoryview(bytearray(4))
    task = loopback.reader.ReadAsync(view, 0, 4)  # a writable memoryview
    loopback.send(b"wxyz")
    assert task.Result == 4 and view.tobytes() == b"wxyz"


def test_file_stream_read_async_with_asynchronous_options(clr: Any, tmp_path: Path) -> None:
    from System.IO import FileAccess, FileMode, FileOptions, FileShare, FileStream

    path = tmp_path / "data.bin"
    payload = bytes(range(256)) * 64
    path.write_bytes(payload)

    async def main() -> int:
        bad = 0
        for i in range(50):
            fs = FileStream(str(path), FileMode.Open, FileAccess.Read, FileShare.Read, 4096, FileOptions.Asynchronous)
            try:
                fs.Position = i * 97
                buf = bytearray(16)
                n = await fs.ReadAsync(buf, 0, 16)
                bad += n != 16 or buf != payload[i * 97 : i * 97 + 16]
            finally:
                fs.Dispose()
        return bad

    assert run(main()) == 0


def test_socket_receive_async_memory_and_array_segment_overloads(loopback: Any) -> None:
    from System import ArraySegment, Byte
    from System.Net.Sockets import SocketFlags

    sock = loopback.client.Client
    flags = getattr(SocketFlags, "None")

    async def main() -> list[bytes]:
        got = []
        buf = bytearray(6)
        task = sock.ReceiveAsync(buf)  # ValueTask<int> ReceiveAsync(Memory<byte>, CancellationToken)
        assert type(task).__clr_name__.startswith("System.Threading.Tasks.ValueTask")
        loopback.send(b"memory")
        assert await task == 6
        got.append(bytes(buf))
        buf = bytearray(6)
        task = sock.ReceiveAsync(buf, flags)  # ValueTask<int> ReceiveAsync(Memory<byte>, SocketFlags, ...)
        loopback.send(b"flags!")
        assert await task == 6
        got.append(bytes(buf))
        buf = bytearray(7)
        task = sock.ReceiveAsync.overloads[ArraySegment[Byte], SocketFlags](buf, flags)  # Task<int>
        loopback.send(b"segment")
        assert await task == 7
        got.append(bytes(buf))
        return got

    assert run(main()) == [b"memory", b"flags!", b"segment"]


def test_memory_of_byte_overloads_of_streams(loopback: Any) -> None:
    from System.IO import MemoryStream

    async def main() -> tuple[bytes, bytes]:
        buf = bytearray(5)
        task = loopback.reader.ReadAsync(buf)  # ValueTask<int> ReadAsync(Memory<byte>, CancellationToken)
        loopback.send(b"later")
        assert await task == 5
        done = bytearray(4)
        assert await MemoryStream(b"0123").ReadAsync(done) == 4  # completes during the call
        return bytes(buf), bytes(done)

    assert run(main()) == (b"later", b"0123")


def test_a_dropped_task_still_fills_its_buffer_and_lets_it_go(fixtures: Any, loopback: Any) -> None:
    """The buffer is held by .NET until the task completes even if Python drops the task's
    proxy at once; then it is released (nothing stays registered)."""
    import gc

    buf = bytearray(6)
    loopback.reader.ReadAsync(buf, 0, 6)  # the proxy dies here
    gc.collect()
    fixtures.collect()
    with pytest.raises(BufferError):
        buf.extend(b"x")  # held: the read has not happened, the memory must not move
    loopback.send(b"filled")
    deadline = time.monotonic() + 10
    while buf != b"filled" and time.monotonic() < deadline:
        time.sleep(0.01)
    assert buf == b"filled"
    buf.extend(b"!")  # released once copied back
    fixtures.collect()
    assert buf == b"filled!"


def test_a_failed_read_releases_its_buffer(fixtures: Any) -> None:
    async def failed_read() -> bytearray:
        pair = _Loopback()
        try:
            buf = bytearray(4)
            task = pair.reader.ReadAsync(buf, 0, 4)
            pair.client.Close()  # the pending read ends without data
            try:
                n = await task
            except Exception:
                pass  # .NET's IOException or ObjectDisposedException: the read failed
            else:
                assert n == 0  # or, in a race with the close, it saw the end of the stream
            assert buf == bytearray(4)
            return buf
        finally:
            pair.close()

    run(failed_read())  # the first await sets up what every later one shares
    fixtures.collect()
    before = fixtures.stats()["python_registry"]
    buf = run(failed_read())
    buf.extend(b"ok")  # not held any more
    fixtures.collect()
    assert fixtures.stats()["python_registry"] == before


# ---- helpers --------------------------------------------------------------------------


async def _await(awaitable: Any) -> Any:
    return await awaitable


class _Progress:
    result: Any = None
    ticks = 0


def _count_in_background(block: Any) -> _Progress:
    """Run ``block`` on this thread while another Python thread counts; report both."""
    progress = _Progress()
    stop = threading.Event()

    def count() -> None:
        while not stop.is_set():
            progress.ticks += 1
            time.sleep(0.001)

    counter = threading.Thread(target=count)
    counter.start()
    try:
        progress.result = block()
    finally:
        stop.set()
        counter.join()
    return progress
