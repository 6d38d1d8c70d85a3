#!/usr/bin/env python3
"""Writes the seed corpus of the fuzz targets into tests/fuzz/corpus/<target>/.

Seeds are small valid (and a few invalid) inputs so that the fuzzer starts from real frames
instead of discovering the magic number by chance. Re-run after a wire format change:
    python3 tests/fuzz/make_corpus.py
"""
import hashlib
import hmac
import json
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
KEY = bytes([0x37, 0xFA, 0x21, 0x3D])
ACK_REQUIRED, JSON_BODY = 0x01, 0x02


def frame(code, seq, flags, body=b""):
    return struct.pack(">HBBHHII", 0x4C50, 1, flags, code, 0, seq, len(body)) + body


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def field_bytes(num, data):
    return varint(num << 3 | 2) + varint(len(data)) + data


def field_varint(num, value):
    return varint(num << 3) + varint(value)


def chunked(stream, cuts=()):
    """fuzz_stream_decoder / fuzz_ws_decoder input: K, K 16-bit cut offsets, then the stream."""
    return bytes([len(cuts)]) + b"".join(struct.pack(">H", c) for c in cuts) + stream


def ws_frame(opcode, payload, fin=True, key=KEY):
    first = (0x80 if fin else 0) | opcode
    n = len(payload)
    mask_bit = 0x80 if key else 0
    if n < 126:
        head = bytes([first, mask_bit | n])
    elif n <= 0xFFFF:
        head = bytes([first, mask_bit | 126]) + struct.pack(">H", n)
    else:
        head = bytes([first, mask_bit | 127]) + struct.pack(">Q", n)
    if not key:
        return head + payload
    return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


def login_binary():
    resume = field_varint(1, 42) + field_varint(2, 7)
    return (field_bytes(1, b"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig") + field_bytes(2, b"dev-1") +
            field_bytes(3, b"app") + field_bytes(4, resume))


def push_binary():
    return (field_varint(1, 2**64 - 1) + field_bytes(2, b"gift") + field_varint(3, 9) +
            field_varint(4, 3) + field_bytes(5, b'{"gift":"rose"}') + field_varint(6, 1700000000000))


def stream_seeds():
    login_json = json.dumps({"token": "t", "deviceId": "d", "platform": "web",
                             "resume": {"room_id": "42", "lastSeq": 7}}).encode()
    biz = field_bytes(1, b"room.enter") + field_bytes(2, b'{"room_id":42}')
    ack = field_bytes(1, varint(5) + varint(6) + varint(2**63))
    session = (frame(1001, 1, 0, login_binary()) + frame(1004, 2, 0) + frame(1003, 3, 0, biz) +
               frame(1005, 4, 0, ack) + frame(1002, 5, 0))
    return {
        "login_binary": chunked(frame(1001, 1, 0, login_binary())),
        "login_json": chunked(frame(1001, 1, JSON_BODY, login_json)),
        "session_whole": chunked(session),
        "session_split": chunked(session, (3, 17, 40, 41, len(session) - 1)),
        "push_ack_required": chunked(frame(3001, 0, ACK_REQUIRED, push_binary())),
        "result_json": chunked(frame(2001, 1, JSON_BODY,
                                     b'{"code":0,"userId":"1","heartbeatIntervalMs":30000}')),
        "kick_error": chunked(frame(3002, 0, 0, field_bytes(1, b"replaced")) +
                              frame(3003, 0, 0, field_varint(1, 1001) + field_bytes(2, b"bad"))),
        "bad_magic": chunked(b"GET /ws HTTP/1.1\r\n\r\n"),
        "too_large": chunked(struct.pack(">HBBHHII", 0x4C50, 1, 0, 1003, 0, 1, 1 << 20)),
    }


def ws_seeds():
    login_frame = frame(1001, 1, 0, login_binary())
    envelope = json.dumps({"code": 1001, "seq": 1, "body": {"token": "t"}}).encode()
    fragmented = (ws_frame(0x1, b'{"code":1004,', fin=False) + ws_frame(0x9, b"ping") +
                  ws_frame(0x0, b'"seq":2}'))
    close = ws_frame(0x8, struct.pack(">H", 1000) + b"bye")
    session = ws_frame(0x2, login_frame) + fragmented + ws_frame(0xA, b"") + close
    return {
        "binary_login": chunked(ws_frame(0x2, login_frame)),
        "text_envelope": chunked(ws_frame(0x1, envelope)),
        "fragmented_with_ping": chunked(fragmented),
        "session_split": chunked(session, (1, 2, 7, 30, len(session) - 3)),
        "long_16bit": chunked(ws_frame(0x2, bytes(300))),
        "close_bad_status": chunked(ws_frame(0x8, struct.pack(">H", 1005))),
        "unmasked": chunked(ws_frame(0x1, b"hi", key=None)),
        "utf8_text": chunked(ws_frame(0x1, "h\u00e9llo \u20ac \U0001F600".encode())),
    }


def envelope_seeds():
    return {
        "login": b'{"code":1001,"seq":1,"body":{"token":"t","deviceId":"d","platform":"web",'
                 b'"resume":{"roomId":"42","last_seq":7}}}',
        "heartbeat": b'{"code":1004,"seq":2}',
        "biz": b'{"code":1003,"seq":3,"body":{"type":"room.chat","data":"eyJ0ZXh0IjoiaGkifQ=="}}',
        "ack": b'{"code":1005,"seq":4,"body":{"msgIds":["1","18446744073709551615",3]}}',
        "push": b'{"code":3001,"seq":0,"body":{"msgId":"9","type":"gift","roomId":9,'
                b'"roomSeq":"3","payload":"e30=","sentAtMs":"1700000000000"}}',
        "result": b'{"code":2001,"seq":1,"body":{"code":0,"message":"","userId":"1"}}',
        "bad_code": b'{"code":"1001","body":{}}',
        "null_body": b'{"code":1002,"seq":null,"body":null}',
    }


# fuzz_link's fixed acceptor (tests/fuzz/fuzz_link.cpp): a hello proven for these is accepted.
LINK_SECRET = b"fuzz-cluster-secret-0123456789abcdef"
LINK_SELF = b"acceptor"
LINK_NONCE = b"N" * 32
LINK_HELLO, LINK_USERS, LINK_PING, LINK_CHALLENGE, LINK_WELCOME = 9001, 9002, 9007, 9008, 9009


def link_proof(role, nonce_dialer, nonce_acceptor, id_dialer, id_acceptor):
    msg = b"".join(struct.pack(">I", len(x)) + x for x in
                   (b"livepush-link-v1", role, nonce_dialer, nonce_acceptor, id_dialer, id_acceptor))
    return hmac.new(LINK_SECRET, msg, hashlib.sha256).digest()


def link_hello(node_id=b"dialer", nonce=b"n" * 32, proof=None):
    if proof is None:
        proof = link_proof(b"dialer", nonce, LINK_NONCE, node_id, LINK_SELF)
    body = field_bytes(1, node_id) + field_bytes(3, nonce) + field_bytes(4, proof)
    return frame(LINK_HELLO, 0, 0, body)


def link_seeds():
    users = field_varint(1, 7) + field_bytes(4, b"t") + field_bytes(5, b"{}") + field_varint(9, 1)
    after = frame(LINK_USERS, 0, 0, users) + frame(LINK_PING, 0, 0)
    challenge = frame(LINK_CHALLENGE, 0, 0, field_bytes(1, LINK_SELF) + field_bytes(2, b"c" * 32))
    welcome = frame(LINK_WELCOME, 0, 0, field_bytes(1, b"w" * 32))
    return {
        "hello_then_frames": chunked(link_hello() + after),
        "hello_then_frames_split": chunked(link_hello() + after, (5, 40, 90)),
        "hello_bad_proof": chunked(link_hello(proof=b"x" * 32) + after),
        "hello_short_nonce": chunked(link_hello(nonce=b"n", proof=b"p" * 32)),
        "hello_then_client_code": chunked(link_hello() + frame(1001, 1, 0, b"")),
        "frame_before_hello": chunked(after),
        "pre_hello_too_large": chunked(frame(LINK_HELLO, 0, 0, b"\0" * 1025)),
        "challenge_then_welcome": chunked(challenge + welcome),
    }


API_KEY = b"fuzz-api-key-0123456789"  # as tests/fuzz/fuzz_http_request.cpp


def http_request(method, target, body=b"", key=API_KEY, extra=b""):
    head = method + b" " + target + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    if key is not None:
        head += b"Authorization: Bearer " + key + b"\r\n"
    if body:
        head += b"Content-Type: application/json\r\nContent-Length: " + str(len(body)).encode() + b"\r\n"
    return head + extra + b"\r\n" + body


def http_request_seeds():
    push_user = b'{"user_id":"42","type":"gift","payload":{"n":1},"qos":1,"ttl_s":60}'
    return {
        "push_user": chunked(http_request(b"POST", b"/v1/push/user", push_user)),
        "push_users_split": chunked(http_request(b"POST", b"/v1/push/users",
                                                 b'{"user_ids":[1,"2",3],"type":"t","payload_base64":"aGk="}'),
                                    (20, 90)),
        "push_room": chunked(http_request(b"POST", b"/v1/push/room",
                                          b'{"room_id":7,"type":"t","payload":null,"exclude":[3,1]}')),
        "broadcast": chunked(http_request(b"POST", b"/v1/push/broadcast", b'{"type":"t","payload":[1,2]}')),
        "kick": chunked(http_request(b"POST", b"/v1/users/9/kick", b'{"reason":"banned"}')),
        "user_view": chunked(http_request(b"GET", b"/v1/users/18446744073709551615?x=1&y=%20")),
        "wrong_key_big_body": chunked(http_request(b"POST", b"/v1/push/user", key=b"nope",
                                                   extra=b"Content-Length: 4194304\r\n") + b"x" * 64),
        "no_key": chunked(http_request(b"GET", b"/metrics", key=None)),
        "chunked_body": chunked(b"POST /v1/push/user HTTP/1.1\r\nHost: x\r\nAuthorization: bearer "
                                + API_KEY + b"\r\nTransfer-Encoding: chunked\r\n\r\n"
                                b"10\r\n{\"user_id\":1,\"type\r\n11\r\n\":\"t\",\"payload\":1}\r\n0\r\n\r\n"),
        "expect_continue": chunked(http_request(b"POST", b"/v1/push/user", push_user,
                                                extra=b"Expect: 100-continue\r\n")),
    }


def ws_upgrade_request(path=b"/ws", version=b"13", origin=None, upgrade=b"websocket", rest=b""):
    head = (b"GET " + path + b" HTTP/1.1\r\nHost: 127.0.0.1:7001\r\nUpgrade: " + upgrade +
            b"\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            b"Sec-WebSocket-Version: " + version + b"\r\n")
    if origin is not None:
        head += b"Origin: " + origin + b"\r\n"
    return head + b"\r\n" + rest


def ws_upgrade_seeds():
    return {
        "upgrade": chunked(ws_upgrade_request()),
        "upgrade_split": chunked(ws_upgrade_request(), (3, 40, 120)),
        "origin_allowed": chunked(ws_upgrade_request(origin=b"https://app.example.com")),
        "origin_other": chunked(ws_upgrade_request(origin=b"https://evil.example.net")),
        "origin_null": chunked(ws_upgrade_request(origin=b"null")),
        "wrong_path": chunked(ws_upgrade_request(path=b"/chat?x=1")),
        "version_8": chunked(ws_upgrade_request(version=b"8")),
        "not_upgrade": chunked(b"GET /ws HTTP/1.1\r\nHost: x\r\n\r\n"),
        "frames_after": chunked(ws_upgrade_request(rest=ws_frame(0x1, b'{"code":1004,"seq":1}'))),
        "http10": chunked(b"GET /ws HTTP/1.0\r\nUpgrade: websocket\r\n\r\n"),
    }


def write(target, seeds):
    folder = os.path.join(HERE, "corpus", target)
    os.makedirs(folder, exist_ok=True)
    for name, data in seeds.items():
        with open(os.path.join(folder, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    write("fuzz_stream_decoder", stream_seeds())
    write("fuzz_ws_decoder", ws_seeds())
    write("fuzz_envelope", envelope_seeds())
    write("fuzz_link", link_seeds())
    write("fuzz_http_request", http_request_seeds())
    write("fuzz_ws_upgrade", ws_upgrade_seeds())
