use super::*;
use crate::event::Flag;

fn parse(record: &str) -> Event<'_> {
    match parse_record(record) {
        Ok(Some(event)) => event,
        Ok(None) => panic!("no event for {record:?}"),
        Err(error) => panic!("{error} for {record:?}"),
    }
}

fn error(record: &str) -> ParseError {
    match parse_record(record) {
        Err(error) => error,
        Ok(event) => panic!("expected an error for {record:?}, got {event:?}"),
    }
}

const ARP_SYSCALL: &str = "type=SYSCALL msg=audit(1604994496.155:92733): arch=c000003e syscall=59 success=yes exit=0 a0=558e251634a0 a1=558e25162a50 a2=558e25160800 a3=8 items=2 ppid=29002 pid=1631 auid=1000 uid=1000 gid=1000 euid=1000 suid=1000 fsuid=1000 egid=1000 sgid=1000 fsgid=1000 tty=pts0 ses=104 comm=\"arp\" exe=\"/usr/sbin/arp\" key=(null)";

#[test]
fn execve_syscall_is_a_process_launch() {
    let event = parse(ARP_SYSCALL);
    assert_eq!(event.format, NAME);
    assert_eq!(event.time, Some(1_604_994_496_155_000));
    assert_eq!(event.class, Class::ProcessActivity);
    assert_eq!(event.activity.as_deref(), Some("launch"));
    assert_eq!(event.outcome, Some(Outcome::Success));
    assert_eq!(event.process.as_deref(), Some("/usr/sbin/arp"));
    assert_eq!(event.user.as_deref(), Some("1000"));
    assert_eq!(event.session_id.as_deref(), Some("104"));
    assert_eq!(event.request_id.as_deref(), Some("92733"));
    assert_eq!(event.attr("type"), Some("SYSCALL"));
    assert_eq!(event.attr("audit.type"), Some("SYSCALL"));
    assert_eq!(event.attr("audit.serial"), Some("92733"));
    assert_eq!(event.attr("comm"), Some("arp"));
    assert_eq!(event.attr("key"), Some("(null)"));
    assert!(event.flags.is_empty());
}

#[test]
fn fields_borrow_from_the_record() {
    let event = parse(ARP_SYSCALL);
    assert!(matches!(event.process, Some(Cow::Borrowed(_))));
    assert!(
        event
            .attrs
            .iter()
            .all(|(key, value)| matches!((key, value), (Cow::Borrowed(_), Cow::Borrowed(_))))
    );
}

#[test]
fn syscall_numbers_depend_on_the_architecture() {
    let aarch64_execve = "type=SYSCALL msg=audit(1.0:1): arch=c00000b7 syscall=221 success=yes";
    let aarch64_59 = "type=SYSCALL msg=audit(1.0:1): arch=c00000b7 syscall=59 success=yes";
    let x86_64_execveat = "type=SYSCALL msg=audit(1.0:1): arch=c000003e syscall=322 success=no";
    let i386_execve = "type=SYSCALL msg=audit(1.0:1): arch=40000003 syscall=11";
    let unknown_arch = "type=SYSCALL msg=audit(1.0:1): arch=dead syscall=59";
    assert_eq!(parse(aarch64_execve).class, Class::ProcessActivity);
    assert_eq!(parse(aarch64_59).class, Class::Other);
    let failed = parse(x86_64_execveat);
    assert_eq!(failed.class, Class::ProcessActivity);
    assert_eq!(failed.outcome, Some(Outcome::Failure));
    assert_eq!(parse(i386_execve).class, Class::ProcessActivity);
    assert_eq!(parse(unknown_arch).class, Class::Other);
}

#[test]
fn execve_arguments_become_the_command_line() {
    let event = parse(
        "type=EXECVE msg=audit(1604996384.965:93777): argc=4 a0=\"dd\" a1=\"if=/dev/zero\" a2=\"bs=1\" a3=\"count=1\"",
    );
    assert_eq!(event.class, Class::ProcessActivity);
    assert_eq!(event.activity.as_deref(), Some("launch"));
    assert_eq!(
        event.command_line.as_deref(),
        Some("dd if=/dev/zero bs=1 count=1")
    );
    assert_eq!(event.process.as_deref(), Some("dd"));
    assert_eq!(event.attr("a1"), Some("if=/dev/zero"));
    assert_eq!(event.attr("argc"), Some("4"));
}

#[test]
fn hex_encoded_arguments_are_decoded_and_kept_as_written() {
    let event = parse(
        "type=EXECVE msg=audit(1.5:2): argc=3 a0=\"bash\" a1=\"-c\" a2=6563686F2068656C6C6F3B206964",
    );
    assert_eq!(
        event.command_line.as_deref(),
        Some("bash -c echo hello; id")
    );
    assert_eq!(event.attr("a2"), Some("echo hello; id"));
    assert_eq!(event.attr("a2.hex"), Some("6563686F2068656C6C6F3B206964"));
}

#[test]
fn long_arguments_written_in_pieces_are_joined() {
    let event = parse(
        "type=EXECVE msg=audit(1.5:2): argc=3 a0=\"python3\" a1=\"-c\" a2_len=22 a2[0]=7072696E7428 a2[1]=2268692229",
    );
    assert_eq!(
        event.command_line.as_deref(),
        Some("python3 -c print(\"hi\")")
    );
    assert_eq!(event.attr("a2"), Some("print(\"hi\")"));
    assert_eq!(event.attr("a2[0]"), Some("7072696E7428"));
    assert_eq!(event.attr("a2_len"), Some("22"));

    let quoted_pieces = parse(
        "type=EXECVE msg=audit(1.5:2): argc=3 a0=\"echo\" a1_len=6 a1[0]=\"abc\" a1[1]=\"def\" a2=\"x\"",
    );
    assert_eq!(quoted_pieces.command_line.as_deref(), Some("echo abcdef x"));
    assert_eq!(quoted_pieces.attr("a1"), Some("abcdef"));
}

#[test]
fn proctitle_is_decoded_with_nul_separators_as_spaces() {
    let event = parse(
        "type=PROCTITLE msg=audit(1604996384.965:93777): proctitle=64640069663D2F6465762F7A65726F0062733D3100636F756E743D31",
    );
    assert_eq!(event.class, Class::ProcessActivity);
    assert_eq!(event.activity, None);
    assert_eq!(
        event.command_line.as_deref(),
        Some("dd if=/dev/zero bs=1 count=1")
    );
    assert_eq!(event.process.as_deref(), Some("dd"));
    assert_eq!(
        event.attr("proctitle"),
        Some("dd if=/dev/zero bs=1 count=1")
    );
    assert_eq!(
        event.attr("proctitle.hex"),
        Some("64640069663D2F6465762F7A65726F0062733D3100636F756E743D31")
    );

    let quoted = parse("type=PROCTITLE msg=audit(1.0:1): proctitle=\"/usr/sbin/auditd\"");
    assert_eq!(quoted.process.as_deref(), Some("/usr/sbin/auditd"));
    assert_eq!(quoted.attr("proctitle.hex"), None);
}

#[test]
fn only_text_fields_are_hex_decoded() {
    // `inode=20` is hex for a space, and `a0` of a SYSCALL is a register: neither is text.
    let event =
        parse("type=PATH msg=audit(1.0:1): item=0 name=2F746D702F6D7920646972 inode=20 dev=08:01");
    assert_eq!(event.attr("name"), Some("/tmp/my dir"));
    assert_eq!(event.attr("inode"), Some("20"));
    assert_eq!(event.resource.as_deref(), Some("/tmp/my dir"));
    let syscall = parse("type=SYSCALL msg=audit(1.0:1): arch=c000003e syscall=2 a0=4142");
    assert_eq!(syscall.attr("a0"), Some("4142"));
}

#[test]
fn hex_that_is_not_printable_text_stays_as_written() {
    let event = parse("type=PATH msg=audit(1.0:1): item=0 name=2F746D702F1B5B33316D");
    assert_eq!(event.attr("name"), Some("2F746D702F1B5B33316D"));
    assert_eq!(event.attr("name.hex"), None);
    let odd = parse("type=CWD msg=audit(1.0:1): cwd=ABC");
    assert_eq!(odd.attr("cwd"), Some("ABC"));
}

#[test]
fn rule_keys_separated_by_0x01_become_a_list() {
    let event = parse(
        "type=SYSCALL msg=audit(1.0:1): arch=c000003e syscall=2 key=6E65745F746F6F6C730165786563",
    );
    assert_eq!(event.attr("key"), Some("net_tools,exec"));
}

const FAILED_LOGIN: &str = "type=USER_LOGIN msg=audit(1604994496.155:92740): pid=1200 uid=0 auid=4294967295 ses=4294967295 msg='op=login acct=\"root\" exe=\"/usr/sbin/sshd\" hostname=203.0.113.5 addr=203.0.113.5 terminal=ssh res=failed'";

#[test]
fn failed_user_login_is_an_authentication_failure() {
    let event = parse(FAILED_LOGIN);
    assert_eq!(event.class, Class::Authentication);
    assert_eq!(event.activity.as_deref(), Some("logon"));
    assert_eq!(event.outcome, Some(Outcome::Failure));
    assert_eq!(event.user.as_deref(), Some("root"));
    assert_eq!(event.src_ip.as_deref(), Some("203.0.113.5"));
    assert_eq!(event.process.as_deref(), Some("/usr/sbin/sshd"));
    assert_eq!(event.session_id, None, "ses=4294967295 is unset");
    assert_eq!(event.attr("op"), Some("login"));
    assert_eq!(event.attr("terminal"), Some("ssh"));
    assert_eq!(event.attr("res"), Some("failed"));
    assert_eq!(event.attr("msg"), None, "the nested message is flattened");
    assert_eq!(
        event.message.as_deref(),
        Some(
            "op=login acct=\"root\" exe=\"/usr/sbin/sshd\" hostname=203.0.113.5 addr=203.0.113.5 terminal=ssh res=failed"
        )
    );
}

#[test]
fn successful_user_login_names_the_user_by_id() {
    let event = parse(
        "type=USER_LOGIN msg=audit(1604994496.155:92741): pid=1200 uid=0 auid=1000 ses=3 msg='op=login id=1000 exe=\"/usr/sbin/sshd\" hostname=? addr=? terminal=/dev/pts/1 res=success'",
    );
    assert_eq!(event.outcome, Some(Outcome::Success));
    assert_eq!(event.user.as_deref(), Some("1000"));
    assert_eq!(event.src_ip, None, "`addr=?` is no address");
    assert_eq!(event.session_id.as_deref(), Some("3"));
}

#[test]
fn placeholder_accounts_name_no_user() {
    // sshd's "(invalid user)", hex-encoded because of its space.
    let event = parse(
        "type=USER_LOGIN msg=audit(1.0:1): pid=1 uid=0 auid=4294967295 ses=4294967295 msg='op=login acct=28696E76616C6964207573657229 exe=\"/usr/sbin/sshd\" hostname=? addr=198.51.100.23 terminal=ssh res=failed'",
    );
    assert_eq!(event.attr("acct"), Some("(invalid user)"));
    assert_eq!(event.user, None);
    assert_eq!(event.src_ip.as_deref(), Some("198.51.100.23"));
}

#[test]
fn sudo_records_are_privilege_escalation() {
    let auth = parse(
        "type=USER_AUTH msg=audit(1.0:1): pid=2 uid=1000 auid=1000 ses=12 msg='op=PAM:authentication grantors=? acct=\"alice\" exe=\"/usr/bin/sudo\" hostname=? addr=? terminal=/dev/pts/1 res=failed'",
    );
    assert_eq!(auth.activity.as_deref(), Some("privilege_escalation"));
    assert_eq!(auth.outcome, Some(Outcome::Failure));
    let command = parse(
        "type=USER_CMD msg=audit(1.0:2): pid=2 uid=1000 auid=1000 ses=12 msg='cwd=\"/home/alice\" cmd=636174202F6574632F736861646F77 exe=\"/usr/bin/sudo\" terminal=pts/1 res=success'",
    );
    assert_eq!(command.class, Class::Authentication);
    assert_eq!(command.activity.as_deref(), Some("privilege_escalation"));
    assert_eq!(command.command_line.as_deref(), Some("cat /etc/shadow"));
    assert_eq!(command.user.as_deref(), Some("1000"));
}

#[test]
fn pam_session_and_credential_records_have_their_activities() {
    let cases = [
        ("USER_START", "session_open"),
        ("USER_END", "session_close"),
        ("USER_ACCT", "logon"),
        ("USER_LOGOUT", "logoff"),
        ("CRED_ACQ", "credential_acquire"),
        ("CRED_REFR", "credential_refresh"),
        ("CRED_DISP", "credential_dispose"),
        ("USER_ERR", "logon"),
    ];
    for (record_type, activity) in cases {
        let record = format!(
            "type={record_type} msg=audit(1.0:1): pid=1 uid=0 auid=1000 ses=2 msg='op=PAM:x acct=\"alice\" exe=\"/usr/sbin/sshd\" hostname=? addr=? terminal=ssh res=success'"
        );
        let event = parse(&record);
        assert_eq!(event.class, Class::Authentication, "{record_type}");
        assert_eq!(event.activity.as_deref(), Some(activity), "{record_type}");
        assert_eq!(event.user.as_deref(), Some("alice"), "{record_type}");
    }
}

#[test]
fn kernel_login_record_names_the_new_login_user() {
    let event = parse(
        "type=LOGIN msg=audit(1.0:1): pid=40301 uid=0 old-auid=4294967295 auid=1000 tty=(none) old-ses=4294967295 ses=12 res=1",
    );
    assert_eq!(event.class, Class::Authentication);
    assert_eq!(event.user.as_deref(), Some("1000"));
    assert_eq!(event.session_id.as_deref(), Some("12"));
    assert_eq!(event.outcome, Some(Outcome::Success));
}

#[test]
fn account_records_are_account_changes() {
    let user = parse(
        "type=ADD_USER msg=audit(1.0:1): pid=1 uid=0 auid=1000 ses=1 msg='op=add-user acct=\"eve\" exe=\"/usr/sbin/useradd\" hostname=? addr=? terminal=pts/0 res=success'",
    );
    assert_eq!(user.class, Class::AccountChange);
    assert_eq!(user.activity.as_deref(), Some("user_create"));
    assert_eq!(user.user.as_deref(), Some("eve"));

    let group = parse(
        "type=ADD_GROUP msg=audit(1.0:2): pid=1 uid=0 auid=1000 ses=1 msg='op=add-group acct=\"devs\" exe=\"/usr/sbin/groupadd\" hostname=? addr=? terminal=pts/0 res=success'",
    );
    assert_eq!(group.activity.as_deref(), Some("group_create"));
    assert_eq!(group.resource.as_deref(), Some("devs"));
    assert_eq!(
        group.user.as_deref(),
        Some("1000"),
        "the admin, not the group"
    );

    let membership = parse(
        "type=USER_MGMT msg=audit(1.0:3): pid=1 uid=0 auid=1000 ses=1 msg='op=add-user-to-group grp=\"wheel\" acct=\"eve\" exe=\"/usr/sbin/usermod\" hostname=? addr=? terminal=pts/0 res=success'",
    );
    assert_eq!(membership.activity.as_deref(), Some("user_modify"));
    assert_eq!(membership.resource.as_deref(), Some("wheel"));
    assert_eq!(membership.user.as_deref(), Some("eve"));

    let password = parse(
        "type=USER_CHAUTHTOK msg=audit(1.0:4): pid=1 uid=0 auid=1000 ses=1 msg='op=PAM:chauthtok grantors=? acct=\"eve\" exe=\"/usr/bin/passwd\" hostname=? addr=? terminal=pts/0 res=failed'",
    );
    assert_eq!(password.activity.as_deref(), Some("password_change"));
    assert_eq!(password.outcome, Some(Outcome::Failure));
}

#[test]
fn an_op_of_several_words_is_one_value() {
    let event = parse(
        "type=ADD_USER msg=audit(1.0:1): pid=1 uid=0 auid=1000 ses=1 msg='op=adding user id=1003 exe=\"/usr/sbin/useradd\" hostname=? addr=? terminal=pts/0 res=success'",
    );
    assert_eq!(event.attr("op"), Some("adding user"));
    assert_eq!(event.attr("id"), Some("1003"));
    assert_eq!(event.user.as_deref(), Some("1003"));
    assert_eq!(event.attr("audit.text"), None);
}

#[test]
fn old_pam_records_are_read() {
    let event = parse(
        "type=USER_ACCT msg=audit(1170021601.340:294): user pid=1 uid=0 auid=4294967295 msg='PAM: accounting acct=root : exe=\"/usr/sbin/crond\" (hostname=?, addr=?, terminal=cron res=success)'",
    );
    assert_eq!(event.user.as_deref(), Some("root"));
    assert_eq!(event.outcome, Some(Outcome::Success));
    assert_eq!(event.attr("hostname"), Some("?"));
    assert_eq!(event.attr("terminal"), Some("cron"));
    assert_eq!(event.attr("audit.text"), Some("user PAM: accounting :"));
}

#[test]
fn node_prefix_names_the_host() {
    let record = format!("node=web-1 {FAILED_LOGIN}");
    let event = parse(&record);
    assert_eq!(event.host.as_deref(), Some("web-1"));
    assert_eq!(event.attr("node"), Some("web-1"));
    assert_eq!(event.class, Class::Authentication);
}

#[test]
fn enriched_names_are_attributes_and_name_the_user() {
    let event = parse(
        "type=SYSCALL msg=audit(1.0:1): arch=c000003e syscall=2 success=yes auid=1000 uid=0 ses=3 comm=\"id\" exe=\"/usr/bin/id\" key=(null)\u{1d}ARCH=x86_64 SYSCALL=execve AUID=\"alice\" UID=\"root\"",
    );
    assert_eq!(event.attr("SYSCALL"), Some("execve"));
    assert_eq!(event.attr("AUID"), Some("alice"));
    assert_eq!(event.attr("UID"), Some("root"));
    assert_eq!(
        event.attr("key"),
        Some("(null)"),
        "the GS byte ends the raw fields"
    );
    assert_eq!(event.class, Class::ProcessActivity, "by the enriched name");
    assert_eq!(event.user.as_deref(), Some("alice"));

    let login = parse(
        "type=USER_LOGIN msg=audit(1.0:2): pid=1 uid=0 auid=1000 ses=3 msg='op=login id=1000 exe=\"/usr/sbin/sshd\" hostname=? addr=? terminal=ssh res=success'\u{1d}UID=\"root\" AUID=\"alice\" ID=\"alice\"",
    );
    assert_eq!(login.user.as_deref(), Some("alice"));
    assert_eq!(login.attr("res"), Some("success"));

    let daemon = parse(
        "type=SYSCALL msg=audit(1.0:3): arch=c000003e syscall=42 auid=4294967295 uid=33\u{1d}AUID=\"unset\" UID=\"www-data\"",
    );
    assert_eq!(daemon.user.as_deref(), Some("www-data"));

    let socket = parse(
        "type=SOCKADDR msg=audit(1.0:3): saddr=02000016C0A80A050000000000000000\u{1d}SADDR={ saddr_fam=inet laddr=192.168.10.5 lport=22 }",
    );
    assert_eq!(
        socket.attr("SADDR"),
        Some("{ saddr_fam=inet laddr=192.168.10.5 lport=22 }")
    );
    assert_eq!(socket.attr("laddr"), None);
}

#[test]
fn selinux_denials_are_failures_of_medium_severity() {
    let event = parse(
        "type=AVC msg=audit(1.0:1): avc:  denied  { read write } for  pid=2301 comm=\"httpd\" name=\"shadow\" scontext=a tcontext=b tclass=file permissive=0",
    );
    assert_eq!(event.class, Class::Other);
    assert_eq!(event.outcome, Some(Outcome::Failure));
    assert_eq!(event.severity, Some(severity::MEDIUM));
    assert_eq!(event.attr("seresult"), Some("denied"));
    assert_eq!(event.attr("seperms"), Some("read write"));
    assert_eq!(event.resource.as_deref(), Some("shadow"));
    assert_eq!(event.process.as_deref(), Some("httpd"));

    let granted = parse(
        "type=AVC msg=audit(1.0:2): avc:  granted  { setenforce } for  pid=1 comm=\"setenforce\"",
    );
    assert_eq!(granted.outcome, Some(Outcome::Success));
    assert_eq!(granted.severity, None);
}

#[test]
fn user_avc_names_the_denied_user_from_its_nested_message() {
    let event = parse(
        "type=USER_AVC msg=audit(1.0:1): pid=1 uid=0 auid=4294967295 ses=4294967295 msg='avc:  denied  { start } for auid=1000 uid=1000 gid=1000 path=\"/usr/lib/systemd/system/x.service\" tclass=service exe=\"/usr/lib/systemd/systemd\" sauid=0 hostname=? addr=? terminal=?'",
    );
    assert_eq!(event.outcome, Some(Outcome::Failure));
    assert_eq!(event.user.as_deref(), Some("1000"));
    assert_eq!(
        event.resource.as_deref(),
        Some("/usr/lib/systemd/system/x.service")
    );
}

#[test]
fn apparmor_decisions_set_the_outcome() {
    let denied = parse(
        "type=AVC msg=audit(1.0:1): apparmor=\"DENIED\" operation=\"open\" profile=\"/usr/sbin/cupsd\" name=\"/etc/shadow\" pid=1700 comm=\"cupsd\"",
    );
    assert_eq!(denied.outcome, Some(Outcome::Failure));
    assert_eq!(denied.severity, Some(severity::MEDIUM));
    assert_eq!(denied.resource.as_deref(), Some("/etc/shadow"));
    let status = parse(
        "type=AVC msg=audit(1.0:2): apparmor=\"STATUS\" operation=\"profile_load\" profile=\"unconfined\" name=\"/usr/bin/man\" pid=900",
    );
    assert_eq!(status.outcome, None);
    assert_eq!(status.severity, None);
    let typed = parse("type=APPARMOR_DENIED msg=audit(1.0:3): operation=\"exec\" name=\"/bin/sh\"");
    assert_eq!(typed.outcome, Some(Outcome::Failure));
    let allowed =
        parse("type=APPARMOR_ALLOWED msg=audit(1.0:4): operation=\"open\" name=\"/etc/hosts\"");
    assert_eq!(allowed.outcome, Some(Outcome::Success));
    assert_eq!(allowed.severity, None);
}

#[test]
fn anomalies_are_failures_of_medium_severity() {
    let event = parse(
        "type=ANOM_ABEND msg=audit(1.0:1): auid=1000 uid=1000 gid=1000 ses=12 pid=42001 comm=\"exploit\" exe=\"/tmp/.x/exploit\" sig=11 res=1",
    );
    assert_eq!(event.class, Class::Other);
    assert_eq!(event.outcome, Some(Outcome::Failure));
    assert_eq!(event.severity, Some(severity::MEDIUM));
    assert_eq!(event.process.as_deref(), Some("/tmp/.x/exploit"));
    assert_eq!(event.user.as_deref(), Some("1000"));
}

#[test]
fn other_records_keep_every_field() {
    let event = parse(
        "type=CONFIG_CHANGE msg=audit(1.0:1): auid=4294967295 ses=4294967295 op=add_rule key=\"identity\" list=4 res=1",
    );
    assert_eq!(event.class, Class::Other);
    assert_eq!(event.outcome, Some(Outcome::Success));
    assert_eq!(event.user, None);
    assert_eq!(event.attr("key"), Some("identity"));
    assert_eq!(event.attr("list"), Some("4"));
}

#[test]
fn end_of_event_record_has_no_fields() {
    let event = parse("type=EOE msg=audit(1718017000.100:7001): ");
    assert_eq!(event.class, Class::Other);
    assert_eq!(event.request_id.as_deref(), Some("7001"));
    assert_eq!(event.attrs.len(), 4);
}

#[test]
fn ausearch_separators_yield_no_event() {
    let mut out = Vec::new();
    let context = ParseContext { reference_time: 0 };
    for line in ["----", "time->Tue Nov 10 08:19:44 2020"] {
        AuditdParser
            .parse(line, &context, &mut out)
            .expect("accepted");
    }
    assert!(out.is_empty());
}

#[test]
fn interpreted_records_keep_their_local_date_as_an_attribute() {
    let event = parse(
        "type=SYSCALL msg=audit(11/10/2020 08:19:44.965:93777) : arch=x86_64 syscall=execve success=yes auid=alice uid=alice ses=104 comm=arp exe=/usr/sbin/arp",
    );
    assert_eq!(event.time, None);
    assert_eq!(event.attr("audit.time"), Some("11/10/2020 08:19:44.965"));
    assert_eq!(event.request_id.as_deref(), Some("93777"));
    assert_eq!(event.class, Class::ProcessActivity);
    assert_eq!(event.user.as_deref(), Some("alice"));
    assert!(!event.flags.contains(&Flag::YearInferred));
}

#[test]
fn trailing_line_breaks_are_ignored() {
    let event = parse("type=CWD msg=audit(1.0:1): cwd=\"/home/wardog\"\r\n");
    assert_eq!(event.attr("cwd"), Some("/home/wardog"));
}

#[test]
fn malformed_records_are_refused() {
    assert!(matches!(error(""), ParseError::Invalid { .. }));
    assert!(matches!(error("   "), ParseError::Invalid { .. }));
    for record in [
        "type=SYSCALL arch=c000003e syscall=59",
        "msg=audit(1.0:1): pid=1",
        "node=lonely",
        "type= msg=audit(1.0:1): a=b",
        "Nov 10 08:19:44 host audispd: node=h type=SYSCALL msg=audit(1.0:1): arch=c000003e",
    ] {
        assert!(
            matches!(error(record), ParseError::Malformed { .. }),
            "{record}"
        );
    }
    for record in [
        "type=USER_LOGIN msg=audit(1718013601.120:5120",
        "type=USER_LOGIN msg=audit(1718013601.120): pid=1",
        "type=USER_LOGIN msg=audit(1718013601.120:): pid=1",
        "type=USER_LOGIN msg=audit(1718013601.120:5x): pid=1",
        "type=USER_LOGIN msg=audit(yesterday:5): pid=1",
        "type=SYSCALL msg=audit(1.0:1)",
    ] {
        assert!(
            matches!(error(record), ParseError::Invalid { .. }),
            "{record}"
        );
    }
}

#[test]
fn truncated_quoted_values_are_refused() {
    let inside_double = error("type=SYSCALL msg=audit(1.0:1): arch=c000003e comm=\"ar");
    assert!(
        inside_double.to_string().contains("`comm`"),
        "{inside_double}"
    );
    let inside_nested = error(
        "type=USER_LOGIN msg=audit(1.0:1): pid=1 msg='op=login id=1000 exe=\"/usr/sbin/sshd\" hostna",
    );
    assert!(
        inside_nested.to_string().contains("`msg`"),
        "{inside_nested}"
    );
    let inside_braces =
        error("type=SOCKADDR msg=audit(1.0:1): saddr=02\u{1d}SADDR={ saddr_fam=inet");
    assert!(
        inside_braces.to_string().contains("`SADDR`"),
        "{inside_braces}"
    );
    let mut out = Vec::new();
    let result = AuditdParser.parse(
        "type=SYSCALL msg=audit(1.0:1): comm=\"ar",
        &ParseContext { reference_time: 0 },
        &mut out,
    );
    assert!(result.is_err());
    assert!(out.is_empty(), "nothing is pushed on error");
}

#[test]
fn execve_argument_keys_are_recognised() {
    assert_eq!(fields::execve_argument("a0"), Some(("0", None)));
    assert_eq!(fields::execve_argument("a12[3]"), Some(("12", Some("3"))));
    assert_eq!(fields::execve_argument("a1_len"), None);
    assert_eq!(fields::execve_argument("argc"), None);
    assert_eq!(fields::execve_argument("a"), None);
    assert_eq!(fields::execve_argument("a1[]"), None);
}

#[test]
fn registered_under_its_names_and_detected_by_auto() {
    let context = ParseContext { reference_time: 0 };
    for name in [NAME, "linux_audit", "audit", "auto"] {
        let mut parser = crate::parse::build(name, &ParserOptions::default()).expect(name);
        let mut out = Vec::new();
        parser.parse(ARP_SYSCALL, &context, &mut out).expect(name);
        assert_eq!(out.len(), 1, "{name}");
        assert_eq!(out[0].format, NAME, "{name}");
        assert_eq!(out[0].class, Class::ProcessActivity, "{name}");
    }
}

proptest::proptest! {
    #[test]
    fn never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..512)) {
        let record = String::from_utf8_lossy(&bytes);
        let _ = parse_record(&record);
        let prefixed = format!("type=X msg=audit(1.0:1): {record}");
        let _ = parse_record(&prefixed);
        let nested = format!("type=USER_LOGIN msg=audit(1.0:1): msg='{record}");
        let _ = parse_record(&nested);
        let execve = format!("type=EXECVE msg=audit(1.0:1): {record}");
        let _ = parse_record(&execve);
    }

    #[test]
    fn arbitrary_fields_parse_or_are_refused_without_panic(
        fields in proptest::collection::vec("[a-z0-9_\\[\\]]{0,6}=[\"'{ ]?[ -~\u{1d}]{0,12}", 0..8)
    ) {
        let record = format!("type=EXECVE msg=audit(1.0:1): {}", fields.join(" "));
        if let Ok(Some(event)) = parse_record(&record) {
            proptest::prop_assert_eq!(event.request_id.as_deref(), Some("1"));
        }
    }
}
