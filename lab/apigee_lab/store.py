"""The lab's persistent state: one SQLite file (``<state>/lab.db``, mode 0600) shared by the management API and the
Message Processor runtime.

The management API (``mgmt/``) is the only writer; the runtime opens the same file and only reads, through the read
methods below (``list_deployments``, ``get_revision_bundle``, ``get_targetserver``, ``get_reference``, ``get_keystore``,
``get_alias_material``, ``list_truststore_certs_pem``). Private keys are stored here (the Message Processor needs them)
and nowhere else; no management API endpoint returns them.

Thread safety: one connection per Store, ``check_same_thread=False``, every statement under one lock; WAL journal so a
reader in another process never blocks on the writer for long.
"""
from __future__ import annotations

import json
import os
import sqlite3
import threading
import time

SCHEMA = """
CREATE TABLE IF NOT EXISTS orgs (name TEXT PRIMARY KEY, created INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS envs (org TEXT NOT NULL, name TEXT NOT NULL, created INTEGER NOT NULL,
    PRIMARY KEY (org, name));
CREATE TABLE IF NOT EXISTS keystores (org TEXT NOT NULL, env TEXT NOT NULL, name TEXT NOT NULL,
    created INTEGER NOT NULL, PRIMARY KEY (org, env, name));
CREATE TABLE IF NOT EXISTS aliases (org TEXT NOT NULL, env TEXT NOT NULL, keystore TEXT NOT NULL,
    alias TEXT NOT NULL, cert_name TEXT NOT NULL, key_pem TEXT, chain_pem TEXT NOT NULL, seq INTEGER NOT NULL,
    created INTEGER NOT NULL, PRIMARY KEY (org, env, keystore, alias));
CREATE TABLE IF NOT EXISTS refs (org TEXT NOT NULL, env TEXT NOT NULL, name TEXT NOT NULL, refers TEXT NOT NULL,
    resource_type TEXT NOT NULL, PRIMARY KEY (org, env, name));
CREATE TABLE IF NOT EXISTS targetservers (org TEXT NOT NULL, env TEXT NOT NULL, name TEXT NOT NULL,
    doc TEXT NOT NULL, PRIMARY KEY (org, env, name));
CREATE TABLE IF NOT EXISTS apis (org TEXT NOT NULL, name TEXT NOT NULL, created_at INTEGER NOT NULL,
    created_by TEXT NOT NULL, modified_at INTEGER NOT NULL, modified_by TEXT NOT NULL, PRIMARY KEY (org, name));
CREATE TABLE IF NOT EXISTS revisions (org TEXT NOT NULL, api TEXT NOT NULL, revision INTEGER NOT NULL,
    bundle BLOB NOT NULL, meta TEXT NOT NULL, created_at INTEGER NOT NULL, created_by TEXT NOT NULL,
    PRIMARY KEY (org, api, revision));
CREATE TABLE IF NOT EXISTS deployments (org TEXT NOT NULL, env TEXT NOT NULL, api TEXT NOT NULL,
    revision INTEGER NOT NULL, basepaths TEXT NOT NULL, deployed_at INTEGER NOT NULL,
    PRIMARY KEY (org, env, api, revision));
CREATE TABLE IF NOT EXISTS debugsessions (org TEXT NOT NULL, env TEXT NOT NULL, api TEXT NOT NULL,
    revision INTEGER NOT NULL, name TEXT NOT NULL, created INTEGER NOT NULL, timeout INTEGER NOT NULL,
    filters TEXT NOT NULL, PRIMARY KEY (org, env, api, revision, name));
CREATE TABLE IF NOT EXISTS debugdata (org TEXT NOT NULL, env TEXT NOT NULL, api TEXT NOT NULL,
    revision INTEGER NOT NULL, session TEXT NOT NULL, tx TEXT NOT NULL, seq INTEGER NOT NULL, data TEXT NOT NULL,
    PRIMARY KEY (org, env, api, revision, session, tx));
"""


def now_ms() -> int:
    return int(time.time() * 1000)


def _private_file(path: str) -> None:
    """Create path with mode 0600 if it does not exist; tighten it if it does."""
    if not os.path.exists(path):
        fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
        os.close(fd)
    os.chmod(path, 0o600)


class Store:
    """Thread-safe access to the lab database."""

    def __init__(self, path: str):
        self.path = os.path.abspath(path)
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        _private_file(self.path)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, timeout=10.0, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        with self._lock:
            self._db.execute("PRAGMA busy_timeout = 10000")
            self._db.execute("PRAGMA journal_mode = WAL")
            self._db.execute("PRAGMA foreign_keys = OFF")
            self._db.executescript(SCHEMA)
        for suffix in ("-wal", "-shm"):
            if os.path.exists(self.path + suffix):
                os.chmod(self.path + suffix, 0o600)

    # ------------------------------------------------------------------ plumbing
    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _all(self, sql: str, args: tuple = ()) -> list[sqlite3.Row]:
        with self._lock:
            return list(self._db.execute(sql, args).fetchall())

    def _one(self, sql: str, args: tuple = ()) -> sqlite3.Row | None:
        with self._lock:
            return self._db.execute(sql, args).fetchone()

    def _write(self, *statements: tuple[str, tuple]) -> None:
        """Run statements in one transaction."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for sql, args in statements:
                    self._db.execute(sql, args)
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    # ------------------------------------------------------------------ orgs and environments
    def ensure_org(self, org: str, envs: list[str] | tuple[str, ...] = ()) -> None:
        ts = now_ms()
        stmts = [("INSERT OR IGNORE INTO orgs (name, created) VALUES (?, ?)", (org, ts))]
        stmts += [("INSERT OR IGNORE INTO envs (org, name, created) VALUES (?, ?, ?)", (org, e, ts)) for e in envs]
        self._write(*stmts)

    def get_org(self, org: str) -> dict | None:
        row = self._one("SELECT name, created FROM orgs WHERE name = ?", (org,))
        return dict(row) if row else None

    def list_envs(self, org: str) -> list[str]:
        return [r["name"] for r in self._all("SELECT name FROM envs WHERE org = ? ORDER BY name", (org,))]

    def env_exists(self, org: str, env: str) -> bool:
        return self._one("SELECT 1 FROM envs WHERE org = ? AND name = ?", (org, env)) is not None

    # ------------------------------------------------------------------ keystores
    def list_keystores(self, org: str, env: str) -> list[str]:
        return [r["name"] for r in self._all(
            "SELECT name FROM keystores WHERE org = ? AND env = ? ORDER BY name", (org, env))]

    def get_keystore(self, org: str, env: str, name: str) -> dict | None:
        """{"name", "aliases": [{"aliasName", "cert", "key"?}], "certs": [...], "keys": [...]} (Edge's shape)."""
        if self._one("SELECT 1 FROM keystores WHERE org = ? AND env = ? AND name = ?", (org, env, name)) is None:
            return None
        aliases, certs, keys = [], [], []
        for row in self.list_alias_rows(org, env, name):
            entry = {"aliasName": row["alias"], "cert": row["cert_name"]}
            certs.append(row["cert_name"])
            if row["key_pem"]:
                entry["key"] = row["alias"]
                keys.append(row["alias"])
            aliases.append(entry)
        return {"aliases": aliases, "certs": certs, "keys": keys, "name": name}

    def create_keystore(self, org: str, env: str, name: str) -> None:
        self._write(("INSERT INTO keystores (org, env, name, created) VALUES (?, ?, ?, ?)", (org, env, name, now_ms())))

    def delete_keystore(self, org: str, env: str, name: str) -> None:
        self._write(("DELETE FROM aliases WHERE org = ? AND env = ? AND keystore = ?", (org, env, name)),
                    ("DELETE FROM keystores WHERE org = ? AND env = ? AND name = ?", (org, env, name)))

    # ------------------------------------------------------------------ aliases (cert chain + optional private key)
    def list_alias_rows(self, org: str, env: str, keystore: str) -> list[sqlite3.Row]:
        return self._all("SELECT alias, cert_name, key_pem, chain_pem FROM aliases "
                         "WHERE org = ? AND env = ? AND keystore = ? ORDER BY seq", (org, env, keystore))

    def get_alias_row(self, org: str, env: str, keystore: str, alias: str) -> sqlite3.Row | None:
        return self._one("SELECT alias, cert_name, key_pem, chain_pem FROM aliases "
                         "WHERE org = ? AND env = ? AND keystore = ? AND alias = ?", (org, env, keystore, alias))

    def get_alias_by_cert_name(self, org: str, env: str, keystore: str, cert_name: str) -> sqlite3.Row | None:
        return self._one("SELECT alias, cert_name, key_pem, chain_pem FROM aliases "
                         "WHERE org = ? AND env = ? AND keystore = ? AND cert_name = ?",
                         (org, env, keystore, cert_name))

    def put_alias(self, org: str, env: str, keystore: str, alias: str, cert_name: str, key_pem: str | None,
                  chain_pem: str) -> None:
        row = self._one("SELECT COALESCE(MAX(seq), 0) + 1 AS n FROM aliases WHERE org = ? AND env = ? AND keystore = ?",
                        (org, env, keystore))
        self._write(("INSERT INTO aliases (org, env, keystore, alias, cert_name, key_pem, chain_pem, seq, created) "
                     "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                     (org, env, keystore, alias, cert_name, key_pem, chain_pem, row["n"], now_ms())))

    def update_alias_chain(self, org: str, env: str, keystore: str, alias: str, chain_pem: str) -> None:
        self._write(("UPDATE aliases SET chain_pem = ? WHERE org = ? AND env = ? AND keystore = ? AND alias = ?",
                     (chain_pem, org, env, keystore, alias)))

    def delete_alias(self, org: str, env: str, keystore: str, alias: str) -> None:
        self._write(("DELETE FROM aliases WHERE org = ? AND env = ? AND keystore = ? AND alias = ?",
                     (org, env, keystore, alias)))

    def get_alias_material(self, org: str, env: str, keystore: str, alias: str) -> dict | None:
        """{"key_pem": str|None, "chain_pem": str (stored chain, leaf first)}: for the runtime only."""
        row = self.get_alias_row(org, env, keystore, alias)
        if row is None:
            return None
        return {"key_pem": row["key_pem"], "chain_pem": row["chain_pem"]}

    def list_truststore_certs_pem(self, org: str, env: str, keystore: str) -> list[str]:
        """Every certificate held by the keystore's aliases, one PEM block per certificate, in upload order."""
        out = []
        for row in self.list_alias_rows(org, env, keystore):
            out.extend(split_pem(row["chain_pem"]))
        return out

    # ------------------------------------------------------------------ references
    def list_references(self, org: str, env: str) -> list[str]:
        return [r["name"] for r in self._all(
            "SELECT name FROM refs WHERE org = ? AND env = ? ORDER BY name", (org, env))]

    def get_reference(self, org: str, env: str, name: str) -> dict | None:
        row = self._one("SELECT name, refers, resource_type FROM refs WHERE org = ? AND env = ? AND name = ?",
                        (org, env, name))
        if row is None:
            return None
        return {"name": row["name"], "refers": row["refers"], "resourceType": row["resource_type"]}

    def put_reference(self, org: str, env: str, name: str, refers: str, resource_type: str) -> None:
        self._write(("INSERT OR REPLACE INTO refs (org, env, name, refers, resource_type) VALUES (?, ?, ?, ?, ?)",
                     (org, env, name, refers, resource_type)))

    def delete_reference(self, org: str, env: str, name: str) -> None:
        self._write(("DELETE FROM refs WHERE org = ? AND env = ? AND name = ?", (org, env, name)))

    def references_to(self, org: str, env: str, keystore: str) -> list[str]:
        return [r["name"] for r in self._all(
            "SELECT name FROM refs WHERE org = ? AND env = ? AND refers = ? ORDER BY name", (org, env, keystore))]

    # ------------------------------------------------------------------ target servers
    def list_targetservers(self, org: str, env: str) -> list[str]:
        return [r["name"] for r in self._all(
            "SELECT name FROM targetservers WHERE org = ? AND env = ? ORDER BY name", (org, env))]

    def get_targetserver(self, org: str, env: str, name: str) -> dict | None:
        """The target server's Edge JSON (name, host, port, isEnabled, sSLInfo{...})."""
        row = self._one("SELECT doc FROM targetservers WHERE org = ? AND env = ? AND name = ?", (org, env, name))
        return json.loads(row["doc"]) if row else None

    def put_targetserver(self, org: str, env: str, name: str, doc: dict) -> None:
        self._write(("INSERT OR REPLACE INTO targetservers (org, env, name, doc) VALUES (?, ?, ?, ?)",
                     (org, env, name, json.dumps(doc, sort_keys=True))))

    def delete_targetserver(self, org: str, env: str, name: str) -> None:
        self._write(("DELETE FROM targetservers WHERE org = ? AND env = ? AND name = ?", (org, env, name)))

    # ------------------------------------------------------------------ API proxies and revisions
    def list_apis(self, org: str) -> list[str]:
        return [r["name"] for r in self._all("SELECT name FROM apis WHERE org = ? ORDER BY name", (org,))]

    def get_api(self, org: str, api: str) -> dict | None:
        row = self._one("SELECT * FROM apis WHERE org = ? AND name = ?", (org, api))
        return dict(row) if row else None

    def list_revisions(self, org: str, api: str) -> list[int]:
        return [r["revision"] for r in self._all(
            "SELECT revision FROM revisions WHERE org = ? AND api = ? ORDER BY revision", (org, api))]

    def add_revision(self, org: str, api: str, bundle: bytes, meta: dict, user: str) -> int:
        """Store a new revision (creating the API on first import); returns its number."""
        with self._lock:
            ts = now_ms()
            row = self._one("SELECT COALESCE(MAX(revision), 0) + 1 AS n FROM revisions WHERE org = ? AND api = ?",
                            (org, api))
            rev = int(row["n"])
            meta = dict(meta, revision=str(rev))
            self._write(
                ("INSERT OR IGNORE INTO apis (org, name, created_at, created_by, modified_at, modified_by) "
                 "VALUES (?, ?, ?, ?, ?, ?)", (org, api, ts, user, ts, user)),
                ("UPDATE apis SET modified_at = ?, modified_by = ? WHERE org = ? AND name = ?", (ts, user, org, api)),
                ("INSERT INTO revisions (org, api, revision, bundle, meta, created_at, created_by) "
                 "VALUES (?, ?, ?, ?, ?, ?, ?)", (org, api, rev, sqlite3.Binary(bundle), json.dumps(meta), ts, user)),
            )
            return rev

    def get_revision(self, org: str, api: str, revision: int) -> dict | None:
        """{"meta": dict, "created_at", "created_by"} (no bundle bytes)."""
        row = self._one("SELECT meta, created_at, created_by FROM revisions WHERE org = ? AND api = ? AND revision = ?",
                        (org, api, int(revision)))
        if row is None:
            return None
        return {"meta": json.loads(row["meta"]), "created_at": row["created_at"], "created_by": row["created_by"]}

    def get_revision_bundle(self, org: str, api: str, revision: int) -> bytes | None:
        """The revision's bundle zip (apiproxy/...), as imported."""
        row = self._one("SELECT bundle FROM revisions WHERE org = ? AND api = ? AND revision = ?",
                        (org, api, int(revision)))
        return bytes(row["bundle"]) if row else None

    def delete_revision(self, org: str, api: str, revision: int) -> None:
        self._write(("DELETE FROM revisions WHERE org = ? AND api = ? AND revision = ?", (org, api, int(revision))))

    def delete_api(self, org: str, api: str) -> None:
        self._write(("DELETE FROM revisions WHERE org = ? AND api = ?", (org, api)),
                    ("DELETE FROM apis WHERE org = ? AND name = ?", (org, api)))

    # ------------------------------------------------------------------ deployments
    def list_deployments(self, org: str, env: str) -> list[dict]:
        """[{"api", "revision": int, "basepaths": [str]}] of the revisions deployed in env."""
        return [{"api": r["api"], "revision": int(r["revision"]), "basepaths": json.loads(r["basepaths"])}
                for r in self._all("SELECT api, revision, basepaths FROM deployments WHERE org = ? AND env = ? "
                                   "ORDER BY api, revision", (org, env))]

    def list_all_deployments(self, org: str) -> list[dict]:
        return [{"env": r["env"], "api": r["api"], "revision": int(r["revision"]),
                 "basepaths": json.loads(r["basepaths"])}
                for r in self._all("SELECT env, api, revision, basepaths FROM deployments WHERE org = ? "
                                   "ORDER BY env, api, revision", (org,))]

    def add_deployment(self, org: str, env: str, api: str, revision: int, basepaths: list[str],
                       replace_other_revisions: bool = False) -> None:
        stmts = []
        if replace_other_revisions:
            stmts.append(("DELETE FROM deployments WHERE org = ? AND env = ? AND api = ?", (org, env, api)))
        stmts.append(("INSERT OR REPLACE INTO deployments (org, env, api, revision, basepaths, deployed_at) "
                      "VALUES (?, ?, ?, ?, ?, ?)", (org, env, api, int(revision), json.dumps(basepaths), now_ms())))
        self._write(*stmts)

    def remove_deployment(self, org: str, env: str, api: str, revision: int) -> None:
        self._write(("DELETE FROM deployments WHERE org = ? AND env = ? AND api = ? AND revision = ?",
                     (org, env, api, int(revision))))

    # ------------------------------------------------------------------ debug sessions (the UI's trace)
    def _live_sessions(self, where: str, args: tuple) -> list[sqlite3.Row]:
        """Sessions not yet past their timeout (a session past it is discarded, as Edge does)."""
        return [r for r in self._all("SELECT * FROM debugsessions WHERE " + where, args)
                if r["created"] + 1000 * int(r["timeout"]) > now_ms()]

    def list_debug_sessions(self, org: str, env: str, api: str, revision: int) -> list[dict]:
        return [self._session(r) for r in self._live_sessions(
            "org = ? AND env = ? AND api = ? AND revision = ? ORDER BY created, name", (org, env, api, int(revision)))]

    def get_debug_session(self, org: str, env: str, api: str, revision: int, name: str) -> dict | None:
        rows = self._live_sessions("org = ? AND env = ? AND api = ? AND revision = ? AND name = ?",
                                   (org, env, api, int(revision), name))
        return self._session(rows[0]) if rows else None

    def active_debug_sessions(self, org: str, env: str, api: str, revision: int) -> list[dict]:
        """The live sessions of a deployed revision, with the number of transactions each holds (the runtime)."""
        out = []
        where = "org = ? AND env = ? AND api = ? AND revision = ?"
        for r in self._live_sessions(where, (org, env, api, int(revision))):
            sess = self._session(r)
            sess["transactions"] = self._one(
                "SELECT COUNT(*) AS n FROM debugdata WHERE org = ? AND env = ? AND api = ? AND revision = ? "
                "AND session = ?", (org, env, api, int(revision), r["name"]))["n"]
            out.append(sess)
        return out

    @staticmethod
    def _session(r) -> dict:
        return {"name": r["name"], "created": int(r["created"]), "timeout": int(r["timeout"]),
                "filters": json.loads(r["filters"])}

    def add_debug_session(self, org: str, env: str, api: str, revision: int, name: str, timeout: int,
                          filters: dict) -> None:
        key = (org, env, api, int(revision), name)
        self._write(("DELETE FROM debugdata WHERE org = ? AND env = ? AND api = ? AND revision = ? AND session = ?",
                     key),
                    ("INSERT OR REPLACE INTO debugsessions (org, env, api, revision, name, created, timeout, filters) "
                     "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", key + (now_ms(), int(timeout), json.dumps(filters))))

    def delete_debug_session(self, org: str, env: str, api: str, revision: int, name: str) -> None:
        """Closing a session discards its data."""
        key = (org, env, api, int(revision), name)
        self._write(("DELETE FROM debugdata WHERE org = ? AND env = ? AND api = ? AND revision = ? AND session = ?",
                     key),
                    ("DELETE FROM debugsessions WHERE org = ? AND env = ? AND api = ? AND revision = ? AND name = ?",
                     key))

    def add_debug_transaction(self, org: str, env: str, api: str, revision: int, session: str, tx: str,
                              data: dict) -> None:
        self._write(("INSERT OR REPLACE INTO debugdata (org, env, api, revision, session, tx, seq, data) "
                     "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                     (org, env, api, int(revision), session, tx, now_ms(), json.dumps(data))))

    def list_debug_transactions(self, org: str, env: str, api: str, revision: int, session: str) -> list[str]:
        return [r["tx"] for r in self._all(
            "SELECT tx FROM debugdata WHERE org = ? AND env = ? AND api = ? AND revision = ? AND session = ? "
            "ORDER BY seq, tx", (org, env, api, int(revision), session))]

    def get_debug_transaction(self, org: str, env: str, api: str, revision: int, session: str,
                              tx: str) -> dict | None:
        row = self._one("SELECT data FROM debugdata WHERE org = ? AND env = ? AND api = ? AND revision = ? "
                        "AND session = ? AND tx = ?", (org, env, api, int(revision), session, tx))
        return json.loads(row["data"]) if row else None


def split_pem(text: str) -> list[str]:
    """The CERTIFICATE blocks of a PEM text, each normalised to end with a newline."""
    out, cur = [], None
    for line in (text or "").splitlines():
        line = line.strip()
        if line == "-----BEGIN CERTIFICATE-----":
            cur = [line]
        elif line == "-----END CERTIFICATE-----" and cur is not None:
            cur.append(line)
            out.append("\n".join(cur) + "\n")
            cur = None
        elif cur is not None and line:
            cur.append(line)
    return out
