//! Linux audit records, as the audit daemon writes them to `/var/log/audit/audit.log` and as
//! `ausearch --raw` prints them (one record per line):
//!
//! ```text
//! [node=HOST ]type=TYPE msg=audit(SECONDS.MILLIS:SERIAL): key=value key="value" ... [GS ENRICHED]
//! type=SYSCALL msg=audit(1604994496.155:92733): arch=c000003e syscall=59 success=yes exit=0 ... auid=1000 uid=1000 ... ses=104 comm="arp" exe="/usr/sbin/arp" key=(null)
//! type=EXECVE msg=audit(1604994496.155:92733): argc=2 a0="arp" a1="-a"
//! type=USER_LOGIN msg=audit(1604994496.155:92740): pid=1200 uid=0 auid=1000 ses=3 msg='op=login id=1000 exe="/usr/sbin/sshd" hostname=203.0.113.5 addr=203.0.113.5 terminal=ssh res=failed'
//! ```
//!
//! One kernel or user-space event is several records sharing `msg=audit(TIME:SERIAL)`; each
//! record becomes one weft event, and `request_id` (the serial) groups them again.
//!
//! - `node=HOST ` is written first by auditd's `name_format` option and by audisp forwarding.
//! - Values are bare, double-quoted, or hex-encoded (see `fields.rs`). User-space records (PAM,
//!   sshd, sudo, shadow-utils) carry their own fields in a single-quoted `msg='...'`, which is
//!   read as more fields of the record.
//! - `log_format = ENRICHED` appends, after a GS byte (0x1d), the names auditd resolved when it
//!   wrote the record: `ARCH=x86_64 SYSCALL=execve AUID="alice" UID="root" ...`.
//! - `ausearch` output without `--raw` separates events with `----` lines and, by default,
//!   `time->Tue Nov 10 08:19:44 2020` lines: these yield no event. `ausearch -i` writes the
//!   time as a local date (`msg=audit(11/10/2020 08:19:44.965:93777) : `), which is kept as
//!   `audit.time` but not used as the event time (its time zone is not in the record), and
//!   interprets values (`proctitle=arp -a`), whose spaces are not escaped: read `--raw`
//!   output where possible.
//!
//! # Attributes
//!
//! `node`, `type` (as Sigma's auditd rules name it) and again `audit.type`, `audit.time` (the
//! time as written), `audit.serial`; then every field under its own name, values without their
//! quotes, the nested `msg='...'` fields inline (`op`, `acct`, `exe`, `hostname`, `addr`,
//! `terminal`, `res`, ...), and the enriched fields under their upper-case names (`AUID`,
//! `SYSCALL`, `SADDR`, ...). A hex-encoded value of a field that holds text (auparse's escaped
//! fields: `proctitle`, `exe`, `comm`, `name`, `cwd`, `cmd`, `acct`, `key`, ..., and the
//! `EXECVE` arguments) that decodes to printable UTF-8 (tabs and line breaks allowed) is stored decoded under the field's
//! name, the text Sigma rules match (`a1: '-c'`), and as written under `<field>.hex`
//! (`proctitle` NUL separators become spaces, `key` 0x01 separators commas); other hex stays
//! as written. A long `EXECVE` argument written in pieces (`a1[0]`, `a1[1]`, ...) is also
//! stored whole under `a1`. Text outside `key=value` pairs (`avc:  denied  { read } for`) is
//! kept as `audit.text`; an SELinux AVC's decision and permissions also as `seresult` and
//! `seperms` (auparse's names).
//!
//! # Columns
//!
//! - `time`: `SECONDS.MILLIS` of `msg=audit(...)`; `host`: `node`; `request_id`: the serial;
//!   `session_id`: `ses`, unless unset (`4294967295`).
//! - `user`: the account the record names, `acct` (none when it is a placeholder: `?`,
//!   `(unknown)`, sshd's `(invalid user)`); for `authentication` and `account_change` records
//!   without `acct`, the enriched `ID`, else `id`; then the login user (enriched `AUID`, else
//!   `auid`, unless unset); for other classes, last the process's user (enriched `UID`, else
//!   `uid`). A group record's `acct` and `id` are the group's (see `resource`), unless it names
//!   the group as `grp`. Of an id written twice (a `USER_AVC` repeats the denied process's
//!   `auid` in its nested message), the first set one counts.
//! - `src_ip`: `addr`, else `hostname`, when it is an IP address (not `?`).
//! - `process`: `exe`, else `comm`, else the first argument (`EXECVE`, `PROCTITLE`).
//! - `command_line`: the `EXECVE` arguments joined with spaces, the decoded `proctitle`, or the
//!   command sudo ran (`USER_CMD` `cmd`).
//! - `resource`: the group of a group record (`grp`, else `acct`), else `path`, else `name`
//!   (the file of a `PATH` record or of an AVC).
//! - `outcome`: `success=yes/no` (system calls), else `res=success/failed/1/0`.
//! - `message`: the nested `msg='...'` text, else `audit.text`.
//!
//! # Classes
//!
//! | records | class | activity |
//! | --- | --- | --- |
//! | `SYSCALL` of `execve` or `execveat` (by the enriched `SYSCALL` name, or by number for the record's `arch`, below), `EXECVE` | `process_activity` | `launch` |
//! | `PROCTITLE` (it accompanies every system call record, so it names the process but not what it did) | `process_activity` | none |
//! | `USER_LOGIN`, `LOGIN` (the kernel setting a login uid), `USER_ERR` | `authentication` | `logon` |
//! | `USER_AUTH`, `USER_ACCT` (PAM authentication and account checks) | `authentication` | `logon`; `privilege_escalation` when `exe` is sudo or su |
//! | `USER_LOGOUT` | `authentication` | `logoff` |
//! | `USER_START`, `USER_END` (PAM session) | `authentication` | `session_open`, `session_close` |
//! | `CRED_ACQ`, `CRED_REFR`, `CRED_DISP` | `authentication` | `credential_acquire`, `credential_refresh`, `credential_dispose` |
//! | `USER_CMD` (a command run through sudo) | `authentication` | `privilege_escalation` |
//! | `ADD_USER`, `DEL_USER`, `USER_MGMT`, `CHUSER_ID` | `account_change` | `user_create`, `user_delete`, `user_modify` |
//! | `ADD_GROUP`, `DEL_GROUP`, `GRP_MGMT`, `CHGRP_ID` | `account_change` | `group_create`, `group_delete`, `group_modify` |
//! | `USER_CHAUTHTOK`, `GRP_CHAUTHTOK` | `account_change` | `password_change` |
//! | `ACCT_LOCK`, `ACCT_UNLOCK`, `ROLE_ASSIGN`, `ROLE_REMOVE` | `account_change` | `lock`, `unlock`, `role_assign`, `role_remove` |
//! | anything else | `other` | none |
//!
//! System call numbers differ between architectures; `arch` is the kernel's `AUDIT_ARCH_*`
//! value in hex (or its name in interpreted output). A number on an architecture not listed is
//! not taken for an exec.
//!
//! | arch | execve | execveat |
//! | --- | --- | --- |
//! | x86_64 (`c000003e`) | 59 | 322 |
//! | i386 (`40000003`) | 11 | 358 |
//! | aarch64 (`c00000b7`), riscv64 (`c00000f3`), loongarch64 (`c0000102`) | 221 | 281 |
//! | arm (`40000028`, big-endian `28`) | 11 | 387 |
//! | ppc64le (`c0000015`), ppc64 (`80000015`), ppc (`14`) | 11 | 362 |
//! | s390x (`80000016`), s390 (`16`) | 11 | 354 |
//!
//! The activity names follow the syslog parsers' Linux vocabulary ([`super::linux_auth`]), so
//! that sshd failures read from `auth.log` and from `audit.log` count alike.
//!
//! Access denials and anomalies are `other` events with outcome `failure` and severity
//! `medium`: an SELinux AVC (`AVC`, `USER_AVC`) whose decision is `denied`, an AppArmor record
//! with `apparmor="DENIED"` or of type `APPARMOR_DENIED`, `SELINUX_ERR`, `USER_SELINUX_ERR`, and
//! every `ANOM_*` record (abnormal end, promiscuous mode, too many login failures, ...). An AVC
//! that grants (`granted`, AppArmor `ALLOWED`/`AUDIT`) has outcome `success`; AppArmor
//! `STATUS` records (profile loads) have none.

mod classify;
mod fields;

use std::borrow::Cow;
use std::net::IpAddr;

use classify::{access_decision, avc_decision, classify, is_group_record};
use fields::{Arguments, Quote, Token, Tokens};

use super::alias::outcome_from_text;
use super::{FormatSpec, ParseContext, ParseError, Parser, ParserOptions};
use crate::event::{Class, Event, Outcome, fill, severity};
use crate::time;

pub const NAME: &str = "auditd";

pub const SPEC: FormatSpec = FormatSpec {
    name: NAME,
    also_known_as: &["linux_audit", "audit"],
    description: "Linux audit records (audit.log, ausearch --raw), raw or enriched, with node= prefixes",
    build: |options| Box::new(AuditdParser::new(options)),
};

/// Parser of Linux audit records.
#[derive(Debug, Clone, Default)]
pub struct AuditdParser;

impl AuditdParser {
    pub fn new(_options: &ParserOptions) -> Self {
        AuditdParser
    }
}

impl Parser for AuditdParser {
    fn parse<'a>(
        &mut self,
        record: &'a str,
        _context: &ParseContext,
        out: &mut Vec<Event<'a>>,
    ) -> Result<(), ParseError> {
        if let Some(event) = parse_record(record)? {
            out.push(event);
        }
        Ok(())
    }
}

/// The GS byte that separates raw fields from the enriched ones.
const GROUP_SEPARATOR: u8 = 0x1d;

/// Parses one audit record; `None` for the separator lines of `ausearch` output.
pub fn parse_record(record: &str) -> Result<Option<Event<'_>>, ParseError> {
    let line = record.trim_matches(|char: char| char.is_ascii_whitespace());
    if line.is_empty() {
        return Err(ParseError::invalid(NAME, "empty record"));
    }
    if line.bytes().all(|byte| byte == b'-') || line.starts_with("time->") {
        return Ok(None);
    }
    let header = read_header(line)?;
    let mut event = Event::new(NAME);
    event.time = header.time;
    event.attrs.reserve(32);
    if let Some(node) = header.node {
        event.attrs.push(("node".into(), node.into()));
        event.host = Some(node.into());
    }
    event.attrs.push(("type".into(), header.record_type.into()));
    event
        .attrs
        .push(("audit.type".into(), header.record_type.into()));
    event
        .attrs
        .push(("audit.time".into(), header.time_text.into()));
    event
        .attrs
        .push(("audit.serial".into(), header.serial.into()));
    event.request_id = Some(header.serial.into());

    let (raw, enriched) = match memchr::memchr(GROUP_SEPARATOR, header.body.as_bytes()) {
        Some(at) => (
            header.body.get(..at).unwrap_or(""),
            header.body.get(at + 1..),
        ),
        None => (header.body, None),
    };
    let mut facts = Facts::default();
    read_fields(raw, false, header.record_type, &mut event.attrs, &mut facts)?;
    if let Some(enriched) = enriched {
        read_fields(enriched, false, "", &mut event.attrs, &mut facts)?;
    }
    if let Some(attr) = facts.arguments.finish() {
        event.attrs.push(attr);
    }
    complete(&mut event, header.record_type, facts);
    Ok(Some(event))
}

/// The parts of a record before its fields.
struct Header<'a> {
    node: Option<&'a str>,
    record_type: &'a str,
    time_text: &'a str,
    time: Option<i64>,
    serial: &'a str,
    body: &'a str,
}

fn read_header(line: &str) -> Result<Header<'_>, ParseError> {
    let mut rest = line;
    let mut node = None;
    if let Some(after) = rest.strip_prefix("node=") {
        let Some((name, after_node)) = after.split_once(' ') else {
            return Err(ParseError::malformed(
                NAME,
                "`node=` with no record after it",
            ));
        };
        node = Some(name);
        rest = after_node.trim_start();
    }
    let Some(after_type) = rest.strip_prefix("type=") else {
        return Err(ParseError::malformed(
            NAME,
            "the record does not start with `type=` (or `node=`)",
        ));
    };
    let (record_type, after_type) = after_type.split_once(' ').unwrap_or((after_type, ""));
    if record_type.is_empty() {
        return Err(ParseError::malformed(NAME, "the record type is empty"));
    }
    let Some(stamp) = after_type.trim_start().strip_prefix("msg=audit(") else {
        return Err(ParseError::malformed(
            NAME,
            format!("no `msg=audit(TIME:SERIAL):` after `type={record_type}`"),
        ));
    };
    let Some((inside, after_stamp)) = stamp.split_once(')') else {
        return Err(ParseError::invalid(
            NAME,
            "the `msg=audit(` header is not closed (truncated record?)",
        ));
    };
    let Some((time_text, serial)) = inside.rsplit_once(':') else {
        return Err(ParseError::invalid(
            NAME,
            format!("`msg=audit({inside})` has no `:SERIAL`"),
        ));
    };
    if serial.is_empty() || !serial.bytes().all(|byte| byte.is_ascii_digit()) {
        return Err(ParseError::invalid(
            NAME,
            format!("the audit serial `{serial}` is not a number"),
        ));
    }
    let time = match time::parse_epoch(time_text) {
        Some(micros) => Some(micros),
        // `ausearch -i`: a local date without its time zone.
        None if time_text.contains(' ') => None,
        None => {
            return Err(ParseError::invalid(
                NAME,
                format!("the audit time `{time_text}` is not seconds since the epoch"),
            ));
        }
    };
    let Some(body) = after_stamp
        .strip_prefix(':')
        .or_else(|| after_stamp.strip_prefix(" :"))
    else {
        return Err(ParseError::invalid(
            NAME,
            "`msg=audit(...)` is not followed by `:` (truncated record?)",
        ));
    };
    Ok(Header {
        node,
        record_type,
        time_text,
        time,
        serial,
        body,
    })
}

/// What the columns are filled from, gathered while the fields are read (first value wins).
#[derive(Debug, Default)]
struct Facts<'a> {
    arch: Option<Cow<'a, str>>,
    syscall: Option<Cow<'a, str>>,
    success: Option<Cow<'a, str>>,
    res: Option<Cow<'a, str>>,
    exe: Option<Cow<'a, str>>,
    comm: Option<Cow<'a, str>>,
    acct: Option<Cow<'a, str>>,
    grp: Option<Cow<'a, str>>,
    id: Option<Cow<'a, str>>,
    auid: Option<Cow<'a, str>>,
    uid: Option<Cow<'a, str>>,
    ses: Option<Cow<'a, str>>,
    addr: Option<Cow<'a, str>>,
    hostname: Option<Cow<'a, str>>,
    path: Option<Cow<'a, str>>,
    name: Option<Cow<'a, str>>,
    cmd: Option<Cow<'a, str>>,
    apparmor: Option<Cow<'a, str>>,
    /// The decoded `proctitle` and the length of its first argument.
    proctitle: Option<(Cow<'a, str>, usize)>,
    enriched_id: Option<Cow<'a, str>>,
    enriched_auid: Option<Cow<'a, str>>,
    enriched_uid: Option<Cow<'a, str>>,
    enriched_syscall: Option<Cow<'a, str>>,
    message: Option<&'a str>,
    words: Vec<&'a str>,
    arguments: Arguments<'a>,
}

impl<'a> Facts<'a> {
    /// The slot a value of `key` goes to, if the column it feeds still wants it.
    fn slot(&mut self, key: &str, value: &str) -> Option<&mut Option<Cow<'a, str>>> {
        let slot = match key {
            "arch" => &mut self.arch,
            "syscall" => &mut self.syscall,
            "success" => &mut self.success,
            "res" => &mut self.res,
            "exe" => &mut self.exe,
            "comm" => &mut self.comm,
            "acct" => &mut self.acct,
            "grp" => &mut self.grp,
            "id" => &mut self.id,
            "auid" => &mut self.auid,
            "uid" => &mut self.uid,
            "ses" => &mut self.ses,
            "addr" => &mut self.addr,
            "hostname" => &mut self.hostname,
            "path" => &mut self.path,
            "name" => &mut self.name,
            "cmd" => &mut self.cmd,
            "apparmor" => &mut self.apparmor,
            "ID" => &mut self.enriched_id,
            "AUID" => &mut self.enriched_auid,
            "UID" => &mut self.enriched_uid,
            "SYSCALL" => &mut self.enriched_syscall,
            _ => return None,
        };
        // The first value wins, except that a set id replaces an unset one: a `USER_AVC`
        // written by systemd (`auid=4294967295`) names the user it denied in its nested
        // message (`auid=1000`).
        let replace = match slot {
            None => true,
            Some(current) => {
                matches!(key, "auid" | "uid" | "id" | "ses" | "AUID" | "UID" | "ID")
                    && !is_set(current)
                    && is_set(value)
            }
        };
        replace.then_some(slot)
    }
}

/// Reads the fields of `text` into `attrs` and `facts`. `record_type` is empty for the enriched
/// part, whose values are never encoded.
fn read_fields<'a>(
    text: &'a str,
    nested: bool,
    record_type: &str,
    attrs: &mut Vec<(Cow<'a, str>, Cow<'a, str>)>,
    facts: &mut Facts<'a>,
) -> Result<(), ParseError> {
    for token in Tokens::new(text, nested) {
        let (key, value, quote) = match token? {
            Token::Word(word) => {
                facts.words.push(word);
                continue;
            }
            Token::Pair { key, value, quote } => (key, value, quote),
        };
        if key == "msg" && quote == Quote::Single && !nested {
            facts.message = Some(value);
            read_fields(value, true, record_type, attrs, facts)?;
            continue;
        }
        if record_type == "EXECVE"
            && let Some((index, piece)) = fields::execve_argument(key)
        {
            read_argument(key, value, quote, index, piece, attrs, facts);
            continue;
        }
        let decoded = match quote {
            Quote::Bare if !record_type.is_empty() => fields::decode_field(key, value),
            _ => None,
        };
        let value_text = match decoded {
            Some(text) => Cow::Owned(text),
            None => Cow::Borrowed(value),
        };
        if key == "proctitle" && facts.proctitle.is_none() {
            let first_length = match value_text {
                Cow::Owned(_) => first_argument_length(value),
                Cow::Borrowed(text) => text.len(),
            };
            facts.proctitle = Some((value_text.clone(), first_length));
        }
        if let Some(slot) = facts.slot(key, &value_text) {
            *slot = Some(value_text.clone());
        }
        let hex = matches!(value_text, Cow::Owned(_));
        attrs.push((Cow::Borrowed(key), value_text));
        if hex {
            attrs.push((Cow::Owned(format!("{key}.hex")), Cow::Borrowed(value)));
        }
    }
    Ok(())
}

/// Length in bytes of the first NUL-separated argument of a hex-encoded `proctitle` (the
/// decoded text keeps byte positions: a NUL becomes one space).
fn first_argument_length(hex: &str) -> usize {
    hex.as_bytes()
        .chunks_exact(2)
        .position(|pair| pair == b"00")
        .unwrap_or(hex.len() / 2)
}

/// An `EXECVE` argument: decoded into `attrs` and onto the command line.
fn read_argument<'a>(
    key: &'a str,
    value: &'a str,
    quote: Quote,
    index: &'a str,
    piece: Option<&'a str>,
    attrs: &mut Vec<(Cow<'a, str>, Cow<'a, str>)>,
    facts: &mut Facts<'a>,
) {
    if piece.is_some() {
        if let Some(attr) = facts.arguments.push_piece(index, value, quote) {
            attrs.push(attr);
        }
        attrs.push((Cow::Borrowed(key), Cow::Borrowed(value)));
        return;
    }
    if let Some(attr) = facts.arguments.finish() {
        attrs.push(attr);
    }
    let decoded = match quote {
        Quote::Bare => fields::decode_hex(value, None),
        _ => None,
    };
    match decoded {
        Some(text) => {
            facts.arguments.push(Cow::Owned(text.clone()));
            attrs.push((Cow::Borrowed(key), Cow::Owned(text)));
            attrs.push((Cow::Owned(format!("{key}.hex")), Cow::Borrowed(value)));
        }
        None => {
            facts.arguments.push(Cow::Borrowed(value));
            attrs.push((Cow::Borrowed(key), Cow::Borrowed(value)));
        }
    }
}

/// Fills the columns, class, activity and outcome from what the fields said.
fn complete<'a>(event: &mut Event<'a>, record_type: &str, mut facts: Facts<'a>) {
    let avc = avc_decision(&facts.words);
    if let Some((result, permissions)) = avc {
        event.attrs.push(("seresult".into(), result.into()));
        if let Some(permissions) = permissions {
            event.attrs.push(("seperms".into(), permissions.into()));
        }
    }
    if !facts.words.is_empty() {
        let text = facts.words.join(" ");
        event
            .attrs
            .push(("audit.text".into(), Cow::Owned(text.clone())));
        if facts.message.is_none() {
            event.message = Some(Cow::Owned(text));
        }
    }
    if let Some(message) = facts.message {
        fill(&mut event.message, message);
    }

    let (class, activity) = classify(record_type, &facts);
    event.class = class;
    event.activity = activity.map(Cow::Borrowed);
    match access_decision(record_type, &facts, avc.map(|(result, _)| result)) {
        Some(Outcome::Failure) => {
            event.outcome = Some(Outcome::Failure);
            event.severity = Some(severity::MEDIUM);
        }
        Some(outcome) => event.outcome = Some(outcome),
        None => event.outcome = outcome_of(&facts),
    }

    event.user = user_of(record_type, class, &facts);
    if let Some(ses) = facts.ses.take().filter(|ses| is_set(ses)) {
        event.session_id = Some(ses);
    }
    for candidate in [&facts.addr, &facts.hostname].into_iter().flatten() {
        if candidate.parse::<IpAddr>().is_ok() {
            event.src_ip = Some(candidate.clone());
            break;
        }
    }

    let first_argument = facts.arguments.first.take();
    let proctitle_first = match &facts.proctitle {
        Some((Cow::Borrowed(text), length)) => text.get(..*length).map(Cow::Borrowed),
        Some((Cow::Owned(text), length)) => {
            text.get(..*length).map(|first| first.to_string().into())
        }
        None => None,
    };
    for candidate in [
        facts.exe.take(),
        facts.comm.take(),
        first_argument,
        proctitle_first,
    ]
    .into_iter()
    .flatten()
    {
        if is_meaningful(&candidate) {
            event.process = Some(candidate);
            break;
        }
    }
    if facts.arguments.count > 0 {
        event.command_line = Some(Cow::Owned(std::mem::take(&mut facts.arguments.line)));
    } else if let Some((proctitle, _)) = facts.proctitle.take() {
        fill(&mut event.command_line, proctitle);
    } else if let Some(cmd) = facts.cmd.take() {
        fill(&mut event.command_line, cmd);
    }

    let group_record = is_group_record(record_type);
    let group = facts
        .grp
        .take()
        .or_else(|| group_record.then(|| facts.acct.clone()).flatten());
    for candidate in [group, facts.path.take(), facts.name.take()]
        .into_iter()
        .flatten()
    {
        if is_meaningful(&candidate) {
            event.resource = Some(candidate);
            break;
        }
    }
}

/// `?`, `(null)`, `(none)` and empty values say that a field has no value.
fn is_meaningful(value: &str) -> bool {
    !matches!(value, "" | "?" | "(null)" | "(none)")
}

/// An audit id that is set: not `4294967295` (`(uint32)-1`), `-1` or `unset`.
fn is_set(id: &str) -> bool {
    !matches!(id, "" | "4294967295" | "-1" | "unset" | "?")
}

/// An `acct` that names no account: sshd's `(invalid user)` and `(unknown user)`, PAM's `?`.
fn is_placeholder_account(account: &str) -> bool {
    account.starts_with('(') || !is_meaningful(account)
}

fn user_of<'a>(record_type: &str, class: Class, facts: &Facts<'a>) -> Option<Cow<'a, str>> {
    let about_an_account = matches!(class, Class::Authentication | Class::AccountChange);
    // A group record's `acct` and `id` are the group's, unless it names the group as `grp`.
    let account_fields = !is_group_record(record_type) || facts.grp.is_some();
    if account_fields && let Some(account) = &facts.acct {
        return (!is_placeholder_account(account)).then(|| account.clone());
    }
    if about_an_account && account_fields {
        let id = [&facts.enriched_id, &facts.id]
            .into_iter()
            .flatten()
            .find(|id| is_set(id));
        if let Some(id) = id {
            return Some(id.clone());
        }
    }
    let login_user = [&facts.enriched_auid, &facts.auid]
        .into_iter()
        .flatten()
        .find(|id| is_set(id));
    if login_user.is_some() || about_an_account {
        return login_user.cloned();
    }
    [&facts.enriched_uid, &facts.uid]
        .into_iter()
        .flatten()
        .find(|id| is_set(id))
        .cloned()
}

fn outcome_of(facts: &Facts<'_>) -> Option<Outcome> {
    let value = facts.success.as_ref().or(facts.res.as_ref())?;
    match value.as_ref() {
        "yes" | "1" => Some(Outcome::Success),
        "no" | "0" => Some(Outcome::Failure),
        other => outcome_from_text(other),
    }
}

#[cfg(test)]
mod tests;
