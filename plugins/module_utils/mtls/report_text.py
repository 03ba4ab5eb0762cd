"""The words of the Markdown reports, in English and in Japanese (``mtls_report_lang: ja``), using the runbook's own
terms (クライアント証明書がない, 認証局不一致, Certificate Length: 0, X-Apigee.Message-ID). The JSON report stays
language-neutral: verdict and action codes, never sentences of one language.

``EXPLAIN[lang][verdict]`` explains a verdict, ``ACTIONS[lang][action]`` names a fix, ``TEXT[lang][key]`` is every
heading and label; a test checks that both languages have every verdict, every action and every key.
"""
from __future__ import annotations

LANGUAGES = ("en", "ja")

EXPLAIN = {
    "en": {
        "ok": "Nothing to do.",
        "tls_disabled": "The link is configured for TLS but TLS is off, so no handshake (and no client certificate) "
                        "happens at all.",
        "mp_restart_pending": "The management API holds a chain the backend accepts, but it was changed in place "
                              "(same keystore name) and no Message Processor restart has been recorded since: the MPs "
                              "keep the keystore they loaded until they restart, so calls may still fail with the old "
                              "chain.",
        "dynamic_keystore": "The SSLInfo KeyStore or KeyAlias is set per request from flow variables whose values "
                            "the tool was not given, so what the MP sends could not be checked: declare the values.",
        "reference_missing": "The SSLInfo KeyStore is a reference (ref://) that does not exist, so the MP has no "
                             "keystore to take a client certificate from (runbook cause 1, missing client "
                             "certificate).",
        "keystore_missing": "The keystore the link uses does not exist (runbook cause 1, missing client "
                            "certificate).",
        "alias_missing": "The KeyAlias named in SSLInfo is not in the keystore, so the MP has no client certificate "
                         "to send (runbook cause 1).",
        "no_client_certificate": "The keystore holds no client certificate with its key: in the packet capture the "
                                 "MP's Certificate message has Certificate Length: 0 and the backend answers with a "
                                 "fatal alert (runbook cause 1).",
        "client_auth_disabled": "The backend asks for a client certificate but ClientAuthEnabled is false, so the MP "
                                "sends none.",
        "backend_unreachable": "No TLS connection could be opened from the probe's host; nothing else could be "
                               "checked.",
        "backend_no_client_auth": "The MP is configured for two-way TLS but the backend never asks for a client "
                                  "certificate.",
        "certificate_expired": "The client certificate the MP would send, or a CA certificate of its chain, has "
                               "expired.",
        "certificate_not_yet_valid": "The client certificate the MP would send is not valid yet.",
        "chain_incomplete": "JSSE sends the chain only when an issuer of a certificate in it is among the backend's "
                            "acceptable CAs; the stored chain lacks the intermediate(s) that would connect it. "
                            "Upload the complete chain (leaf + intermediates) to the keystore.",
        "ca_mismatch": "The CA that issued the leaf is not one of the CAs the backend accepts, so the MP (Java) sends "
                       "no certificate (runbook cause 2, CA mismatch). Put the issuing CA into the backend "
                       "truststore.",
        "rejected_by_backend": "The MP sends a certificate but the backend still refuses it.",
        "key_type_not_accepted": "The backend's CertificateRequest allows only signature algorithms (and, in TLS 1.2, "
                                 "certificate types) for other key types than the client certificate's, so JSSE asks "
                                 "its key manager for those key types only and sends an empty Certificate message, "
                                 "whatever CAs the backend names.",
        "signature_algorithm_rejected": "The MP's PKIX key manager skips a chain in which a certificate (an attached "
                                        "root included) is signed with an algorithm the backend does not list, or "
                                        "has a key below the JDK's limits: it sends an empty Certificate message.",
        "no_certificate_verify_scheme": "The MP sends its chain, then aborts the handshake itself: no signature "
                                        "algorithm the backend allows fits its key (ECDSA schemes are bound to a "
                                        "curve).",
        "certificate_request_unreadable": "The backend asks for a client certificate, but its CertificateRequest "
                                          "could not be read: which key types and signature algorithms it allows is "
                                          "not known, so the link is not known to work.",
        "alias_key_unknown": "The MP would send the stored chain and the backend would accept it, but Apigee did "
                             "not say whether the alias holds a private key (its type KEY_CERT or CERT was not "
                             "read): a certificate without its key gives the MP nothing to send.",
        "server_not_trusted": "The MP validates the backend's certificate with its truststore and JSSE refuses it "
                              "(no path to a certificate the truststore holds, or a certificate of the path out of "
                              "its validity or not fit for its use): the MP aborts the handshake before it sends a "
                              "client certificate.",
        "server_trust_unknown": "Everything else says the link works, but whether the MP trusts the backend's "
                                "certificate with its truststore could not be decided, so the link is not known to "
                                "work.",
    },
    "ja": {
        "ok": "対処は不要です。",
        "tls_disabled": "このリンクは TLS 用に設定されていますが TLS が無効なため、ハンドシェイクは行われず、クライアント証明書も"
                        "送信されません。",
        "mp_restart_pending": "管理 API にはバックエンドが受け入れるチェーンがありますが、同じキーストア名のまま変更され、その後"
                              " Message Processor の再起動が記録されていません。MP は読み込んだキーストアを再起動まで使い続ける"
                              "ため、古いチェーンで呼び出しが失敗する可能性があります。",
        "dynamic_keystore": "SSLInfo の KeyStore または KeyAlias がフロー変数からリクエストごとに決まり、その値が与えられて"
                            "いないため、MP が送信する証明書を確認できませんでした。値を宣言してください。",
        "reference_missing": "SSLInfo の KeyStore は存在しない参照 (ref://) のため、MP がクライアント証明書を取り出す"
                             "キーストアがありません (ランブックの原因 1: クライアント証明書がない)。",
        "keystore_missing": "リンクが使うキーストアが存在しません (ランブックの原因 1: クライアント証明書がない)。",
        "alias_missing": "SSLInfo の KeyAlias がキーストアにないため、MP が送信するクライアント証明書がありません"
                         " (ランブックの原因 1)。",
        "no_client_certificate": "キーストアに鍵付きのクライアント証明書が格納されていません。パケット キャプチャでは MP の"
                                 " Certificate メッセージが Certificate Length: 0 となり、バックエンドが Fatal Alert を"
                                 "返します (ランブックの原因 1: クライアント証明書がない)。",
        "client_auth_disabled": "バックエンドはクライアント証明書を要求していますが ClientAuthEnabled が false のため、MP は"
                                "証明書を送信しません。",
        "backend_unreachable": "プローブ ホストから TLS 接続を開けませんでした。ほかの項目は確認できていません。",
        "backend_no_client_auth": "MP は双方向 TLS 用に設定されていますが、バックエンドはクライアント証明書を要求しません。",
        "certificate_expired": "MP が送信するクライアント証明書、またはそのチェーンの認証局証明書の有効期限が切れています。",
        "certificate_not_yet_valid": "MP が送信するクライアント証明書はまだ有効期間に入っていません。",
        "chain_incomplete": "JSSE は、チェーン内の証明書の発行元がバックエンドの承認する認証局のいずれかである場合にのみ"
                            "チェーンを送信します。格納されたチェーンにはそれをつなぐ中間証明書がありません。完全な証明書"
                            "チェーン (リーフ + 中間証明書) をキーストアにアップロードしてください。",
        "ca_mismatch": "リーフ証明書 (証明書チェーンの最初の証明書) の認証局が、バックエンド サーバーで承認されている認証局の"
                       "いずれとも一致しないため、MP (Java ベースのプロセス) は証明書を送信しません (ランブックの原因 2:"
                       " 認証局不一致)。発行元の認証局の証明書をバックエンド サーバーのトラストストアに格納してください。",
        "rejected_by_backend": "MP は証明書を送信しますが、バックエンドがそれを拒否しています。",
        "key_type_not_accepted": "バックエンドの Certificate Request が許可する署名アルゴリズム (TLS 1.2 では証明書タイプも)"
                                 " はクライアント証明書とは別の鍵タイプ用のものだけのため、JSSE はその鍵タイプだけをキー"
                                 "マネージャーに求め、バックエンドが示す認証局にかかわらず空の Certificate メッセージを送信"
                                 "します。",
        "signature_algorithm_rejected": "MP の PKIX キーマネージャーは、バックエンドが示さないアルゴリズムで署名された証明書"
                                        " (添付されたルートを含む) や JDK の下限未満の鍵を含むチェーンを選ばず、空の"
                                        " Certificate メッセージを送信します。",
        "no_certificate_verify_scheme": "MP はチェーンを送信した後、自らハンドシェイクを中止します。バックエンドが許可する署名"
                                        "アルゴリズムのいずれもその鍵に合いません (ECDSA の方式は曲線に結び付いています)。",
        "certificate_request_unreadable": "バックエンドはクライアント証明書を要求していますが、その Certificate Request を"
                                          "読み取れませんでした。許可される鍵タイプと署名アルゴリズムが不明なため、この"
                                          "リンクが動作するかはわかりません。",
        "alias_key_unknown": "MP は保存されたチェーンを送信し、バックエンドはそれを受け入れるはずですが、エイリアスが秘密鍵を"
                             "持つかどうか (type が KEY_CERT か CERT か) を Apigee から読み取れませんでした。鍵のない"
                             "証明書では MP は何も送信できません。",
        "server_not_trusted": "MP はトラストストアでバックエンドのサーバー証明書を検証し、JSSE がそれを拒否します (トラストストア"
                              "の証明書への証明書パスがない、またはパス上の証明書が有効期間外か用途に合わない)。MP は"
                              "クライアント証明書を送信する前にハンドシェイクを中止します。",
        "server_trust_unknown": "ほかの点ではこのリンクは動作するはずですが、MP がトラストストアでバックエンドの証明書を"
                                "信頼するかどうかを判定できなかったため、このリンクが動作するかはわかりません。",
    },
}

ACTIONS = {
    "en": {"none": "none", "upload_chain": "upload the complete chain", "trust_issuer": "trust the issuing CA",
           "enable_client_auth": "turn client auth on", "renew_certificate": "renew the certificate",
           "manual": "manual"},
    "ja": {"none": "対処不要", "upload_chain": "完全な証明書チェーンのアップロード",
           "trust_issuer": "発行元認証局をトラストストアに格納", "enable_client_auth": "クライアント認証の有効化",
           "renew_certificate": "証明書の更新", "manual": "手動対応"},
}

TEXT = {
    "en": {
        "title": "# Southbound mTLS diagnosis: org `%s`, env %s",
        "generated": "Generated %s. %d link(s): %d ok, %d broken. API requests: %s; probes: %s; wall time %ss.",
        "expiring": "## Expiring within %s days (these links work today)",
        "expiring_head": "| link | certificate | subject | expires | days left |",
        "verdict_head": "| verdict | links |",
        "links_head": "| link | backend | keystore / alias | verdict | fix |",
        "broken": "## Broken links",
        "backend": "- Backend: `%s:%s`%s",
        "sni": " (SNI `%s`)",
        "used_by": "- Used by: %s",
        "used_by_item": "%s rev %s (%s)",
        "acceptable": "- Acceptable client certificate CA names (the Distinguished Names of the backend's Certificate "
                      "Request):",
        "certificate_request": "- Certificate Request (%s): certificate types %s; signature algorithms %s%s",
        "tls_versions": "- TLS versions (MP Java %s): allowed %s; the MP negotiates %s; per version: %s",
        "not_answered": " (not answered)",
        "stored_chain": "- Stored chain in `%s` / `%s`:",
        "chain_item": "  - subject `%s`, issuer `%s`, valid %s to %s",
        "keystore_aliases": "- Keystore `%s`: %d alias(es)%s",
        "http_400": "- The backend completed the handshake without a client certificate and answered HTTP %s: nginx "
                    "refuses a missing or unverified certificate at the HTTP level (400 \"No required SSL certificate "
                    "was sent\" / \"The SSL certificate error\"), so the MP gets that HTTP answer instead of a handshake "
                    "failure and a 503",
        "jsse": "- JSSE selection: %s (%s)",
        "sends": "sends the chain",
        "sends_nothing": "sends nothing (Certificate Length: 0)",
        "handshake": "- Handshake: %s",
        "completed": "completed",
        "fix": "**Fix (%s):** %s",
        "upload": "Complete chain to upload to `%s` / `%s`:",
        "missing": " **missing**",
        "trust": "CA to add to the backend truststore: `%s` (SHA-256 `%s`)",
        "chain": "- chain: `%s` (SHA-256 `%s`)",
        "mp_log": "- MP system.log: %d handshake failure(s)",
        "mp_log_ids": ", X-Apigee.Message-ID %s",
        "mp_log_span": " (first %s, last %s)",
        "mp_log_record": "- MP system.log record (verbatim):",
        "svg": "The same picture as SVG, for mail: `%s/%s`",
        "trace": "- Trace (debug session on %s rev %s): %s in the %s, HTTP %s, X-Apigee.Message-ID `%s`",
        "trace_target": "  - target URL `%s`",
        "trace_none": "- Trace (debug session on %s rev %s): %s",
        "trace_ok": "the call completed",
        "trace_records": "- MP system.log records of X-Apigee.Message-ID `%s` (verbatim):",
        "capture": "- Packet capture `%s`, %d connection(s) to the backend:",
        "capture_conn": "  - %s -> %s %s: %s",
        "capture_req": "    - Certificate Request: certificate types %s; Distinguished Names: %s",
        "capture_cert": "    - client Certificate: Certificate Length: %s (%d certificate(s))",
        "capture_no_cert": "    - no client Certificate message",
        "capture_alert": "    - alert from the %s: %s %s",
        "capture_encrypted": "    - encrypted after the ServerHello (TLS 1.3): give the key log file to read it",
        "capture_contradiction": "- **The capture contradicts the diagnosis:** %s",
        "capture_note": "  - %s",
    },
    "ja": {
        "title": "# サウスバウンド mTLS 診断: 組織 `%s`、環境 %s",
        "generated": "生成日時 %s。リンク %d 件: 正常 %d 件、異常 %d 件。API リクエスト: %s、プローブ: %s、所要時間 %s 秒。",
        "expiring": "## %s 日以内に期限切れとなる証明書 (これらのリンクは現在は正常です)",
        "expiring_head": "| リンク | 証明書 | サブジェクト | 有効期限 | 残り日数 |",
        "verdict_head": "| 判定 | リンク数 |",
        "links_head": "| リンク | バックエンド | キーストア / エイリアス | 判定 | 対処 |",
        "broken": "## 異常のあるリンク",
        "backend": "- バックエンド: `%s:%s`%s",
        "sni": " (SNI `%s`)",
        "used_by": "- 使用元: %s",
        "used_by_item": "%s リビジョン %s (%s)",
        "acceptable": "- 許容されるクライアント証明書の認証局名 (Acceptable client certificate CA names: バックエンドの"
                      " Certificate Request の Distinguished Names):",
        "certificate_request": "- Certificate Request (%s): 証明書タイプ %s、署名アルゴリズム %s%s",
        "tls_versions": "- TLS バージョン (MP の Java %s): 許可 %s、MP がネゴシエートするバージョン %s、バージョン別: %s",
        "not_answered": " (応答なし)",
        "stored_chain": "- `%s` / `%s` に格納されている証明書チェーン:",
        "chain_item": "  - サブジェクト `%s`、発行元 `%s`、有効期間 %s から %s",
        "keystore_aliases": "- キーストア `%s`: エイリアス %d 件%s",
        "http_400": "- バックエンドはクライアント証明書なしでハンドシェイクを完了し HTTP %s を返しました。nginx は証明書がない、"
                    "または検証できない場合に HTTP レベルで拒否するため (400 \"No required SSL certificate was sent\" /"
                    " \"The SSL certificate error\")、MP はハンドシェイクの失敗と 503 ではなく、この HTTP 応答を受け取ります",
        "jsse": "- JSSE の選択: %s (%s)",
        "sends": "チェーンを送信する",
        "sends_nothing": "何も送信しない (Certificate Length: 0)",
        "handshake": "- ハンドシェイク: %s",
        "completed": "完了",
        "fix": "**対処 (%s):** %s",
        "upload": "`%s` / `%s` にアップロードする完全な証明書チェーン:",
        "missing": " **欠落**",
        "trust": "バックエンドのトラストストアに格納する認証局: `%s` (SHA-256 `%s`)",
        "chain": "- チェーン: `%s` (SHA-256 `%s`)",
        "mp_log": "- MP の system.log: ハンドシェイク失敗 %d 件",
        "mp_log_ids": "、X-Apigee.Message-ID %s",
        "mp_log_span": " (最初 %s、最後 %s)",
        "mp_log_record": "- MP の system.log のレコード (原文):",
        "svg": "同じ図の SVG (メール用): `%s/%s`",
        "trace": "- トレース (%s リビジョン %s のデバッグセッション): %s の %s で発生、HTTP %s、X-Apigee.Message-ID `%s`",
        "trace_target": "  - ターゲット URL `%s`",
        "trace_none": "- トレース (%s リビジョン %s のデバッグセッション): %s",
        "trace_ok": "呼び出しは完了しました",
        "trace_records": "- X-Apigee.Message-ID `%s` の MP の system.log のレコード (原文):",
        "capture": "- パケットキャプチャ `%s`、バックエンドへの接続 %d 件:",
        "capture_conn": "  - %s -> %s %s: %s",
        "capture_req": "    - Certificate Request: 証明書タイプ %s、Distinguished Names: %s",
        "capture_cert": "    - クライアントの Certificate: Certificate Length: %s (証明書 %d 件)",
        "capture_no_cert": "    - クライアントの Certificate メッセージなし",
        "capture_alert": "    - %s からのアラート: %s %s",
        "capture_encrypted": "    - ServerHello 以降は暗号化されています (TLS 1.3): 読むには鍵ログファイルを指定してください",
        "capture_contradiction": "- **キャプチャは診断と矛盾しています:** %s",
        "capture_note": "  - %s",
    },
}


def words(lang: str | None) -> tuple[dict, dict, dict]:
    """(TEXT, EXPLAIN, ACTIONS) of a language; English for an unknown one."""
    lang = lang if lang in LANGUAGES else "en"
    return TEXT[lang], EXPLAIN[lang], ACTIONS[lang]
