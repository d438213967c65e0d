"""Runs moto's server for devstack and exits when its parent goes away.

Usage: python moto_launcher.py PORT   (PORT 0 picks a free port)

Prints `ready <port>` on stdout once the server accepts connections, then serves
until stdin reaches end of file. Besides moto's APIs it answers
`GET /_devstack/sms` with the text messages SNS "sent", as JSON
`[{"messageId", "phoneNumber", "message"}, ...]` in send order. The parent process holds the write end of that
pipe, so however the parent ends (normal exit, panic, kill -9, Ctrl-C), the
operating system closes it and this process exits: no orphaned emulators, on any
OS. Exit code 3 means the port is taken.
"""

import json
import logging
import sys
import threading

SMS_LOG_PATH = "/_devstack/sms"


def sms_log(start_response):
    """Answers with every SMS of every SNS backend, in send order per backend.

    A cheap read of `sms_messages`: moto's /moto-api/data.json has them too, but
    it serialises every model instance moto ever tracked and grows slow in a long
    test process.
    """
    from moto.sns.models import sns_backends

    texts = []
    for account in list(sns_backends.values()):
        for backend in list(account.values()):
            for message_id, (phone_number, message) in list(backend.sms_messages.items()):
                texts.append(
                    {"messageId": message_id, "phoneNumber": phone_number, "message": message}
                )
    body = json.dumps(texts, ensure_ascii=False).encode("utf-8")
    start_response(
        "200 OK",
        [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
    )
    return [body]


class OneAtATime:
    """Runs requests one at a time, except SQS's.

    DynamoDB applies a conditional write or a transaction atomically; moto does
    so only when requests do not overlap, and its threaded server overlaps them.
    Serialising restores the guarantee that idempotency keys, lockout counters
    and single-use tokens rely on. SQS stays concurrent: ReceiveMessage may wait
    up to 20 s for a message that another request is about to send. The SMS log
    is read under the lock too, so no Publish changes it while it is copied.
    """

    def __init__(self, app):
        self.app = app
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO") == SMS_LOG_PATH and environ.get("REQUEST_METHOD") == "GET":
            with self.lock:
                return sms_log(start_response)
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        authorization = environ.get("HTTP_AUTHORIZATION", "")
        if target.startswith("AmazonSQS") or "/sqs/aws4_request" in authorization:
            return self.app(environ, start_response)
        with self.lock:
            # The whole response is produced inside the lock.
            return list(self.app(environ, start_response))


def stop_tracking_dynamodb_copies():
    """Stops moto from keeping every DynamoDB model object it ever made.

    moto's `BaseModel.__new__` appends each new instance to a class-wide list
    (for `/moto-api/data.json`), and a DynamoDB transaction deep-copies every
    table it touches, once per item, to roll back: every copied item is then
    kept forever. Memory grew with transactions times table size (3.3 GiB after
    600 transactions of 4 puts on one table; a 1,000-claim benchmark passed
    13 GiB). DynamoDB objects are not tracked here; other services' are, so
    the data.json view of SNS texts still works.
    """
    from moto.core.common_models import BaseModel

    tracked_new = BaseModel.__new__

    def new(cls, *args, **kwargs):
        if cls.__module__.startswith("moto.dynamodb"):
            return object.__new__(cls)
        return tracked_new(cls, *args, **kwargs)

    BaseModel.__new__ = staticmethod(new)


def snapshot_stream_records_by_reference():
    """Makes the rollback copy of a DynamoDB transaction cheap for streams.

    Before each transaction moto deep-copies the table it writes, including the
    table's stream shard with every stream record since the table was made
    (deleting items adds records; nothing trims them). Each transaction thus
    cost more than the last: a thousand report submissions took over ten
    minutes, and a long `cargo dev` session slowed down. Stream records never
    change once written, so the copy keeps a new list of the same records: a
    rolled-back transaction still loses exactly the records it appended.
    """
    import copy

    from moto.dynamodb.models.table import StreamShard

    def deepcopy(self, memo):
        clone = copy.copy(self)
        clone.items = list(self.items)
        # The copied table, when the shard is copied as part of it.
        clone.table = memo.get(id(self.table), self.table)
        memo[id(self)] = clone
        return clone

    StreamShard.__deepcopy__ = deepcopy


def snapshot_only_what_a_transaction_writes():
    """Makes the rollback copy of a DynamoDB transaction cost its own items.

    moto deep-copies every table a TransactWriteItems names before applying it,
    so that a cancelled transaction can put the copy back. That copy cost the
    whole table, every time: with 220,000 items (the alert fan-out benchmark's
    100,000 subscribers) one transaction took over a minute. A transaction can
    only change the items it names, so the copy here is a new table object with
    new item containers holding the same item objects, except the named items,
    which are deep-copied (an update changes its item in place). Put back after
    a cancellation, it is exactly the table as it was. Tables or transactions
    it cannot read a key from are copied whole, as before.
    """
    import copy
    import threading
    from collections import defaultdict

    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.dynamodb.models.table import Table

    named = threading.local()
    original = DynamoDBBackend.transact_write_items

    def keys_of(self, transact_items):
        keys = {}
        for entry in transact_items:
            _, op = next(iter(entry.items()))
            table = self.tables.get(op.get("TableName"))
            if table is None:
                continue
            source = op.get("Item") or op.get("Key") or {}
            if table.hash_key_attr not in source:
                return None
            if table.range_key_attr is not None and table.range_key_attr not in source:
                return None
            hash_key = DynamoType(source[table.hash_key_attr])
            range_key = (
                DynamoType(source[table.range_key_attr])
                if table.range_key_attr is not None
                else None
            )
            keys.setdefault(table.name, []).append((hash_key, range_key))
        return keys

    def transact_write_items(self, transact_items):
        try:
            named.keys = keys_of(self, transact_items)
        except Exception:  # noqa: BLE001 -- moto reports malformed input itself
            named.keys = None
        try:
            return original(self, transact_items)
        finally:
            named.keys = None

    def whole(table, memo):
        clone = copy.copy(table)
        memo[id(table)] = clone
        clone.__dict__ = copy.deepcopy(table.__dict__, memo)
        return clone

    def table_deepcopy(self, memo):
        keys = (getattr(named, "keys", None) or {}).get(self.name)
        if keys is None:
            return whole(self, memo)
        clone = copy.copy(self)
        memo[id(self)] = clone
        if self.has_range_key:
            clone.items = defaultdict(dict, {h: dict(r) for h, r in self.items.items()})
        else:
            clone.items = defaultdict(dict, self.items)
        for hash_key, range_key in keys:
            if self.has_range_key:
                item = self.items.get(hash_key, {}).get(range_key)
                if item is not None:
                    clone.items[hash_key][range_key] = copy.deepcopy(item, memo)
            else:
                item = self.items.get(hash_key)
                if item is not None:
                    clone.items[hash_key] = copy.deepcopy(item, memo)
        shard = getattr(self, "stream_shard", None)
        if shard is not None:
            clone.stream_shard = copy.deepcopy(shard, memo)
        return clone

    DynamoDBBackend.transact_write_items = transact_write_items
    Table.__deepcopy__ = table_deepcopy


def main() -> int:
    port = int(sys.argv[1])
    # One line per request on stderr would drown test output.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    try:
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server
    except ImportError as error:
        print(f"moto is not installed in this Python: {error}", file=sys.stderr)
        return 2
    stop_tracking_dynamodb_copies()
    snapshot_stream_records_by_reference()
    snapshot_only_what_a_transaction_writes()

    try:
        # Bound here, in the main thread, so a taken port is an error we can
        # report (moto's ThreadedMotoServer would wait forever instead).
        server = make_server(
            "127.0.0.1",
            port,
            OneAtATime(DomainDispatcherApplication(create_backend_app)),
            threaded=True,
            request_handler=MotoRequestHandler,
        )
    except (OSError, SystemExit):
        # werkzeug reports a taken port itself and raises SystemExit.
        print(f"cannot listen on 127.0.0.1:{port}", file=sys.stderr)
        return 3

    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    print(f"ready {server.server_port}", flush=True)

    try:
        while sys.stdin.buffer.read(4096):
            pass
    except KeyboardInterrupt:
        pass
    server.shutdown()
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(0)
