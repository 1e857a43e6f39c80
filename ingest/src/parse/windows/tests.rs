use super::*;

fn parse(record: &str) -> Result<Vec<Event<'_>>, ParseError> {
    let mut out = Vec::new();
    WindowsParser::new(&ParserOptions::default()).parse(
        record,
        &ParseContext { reference_time: 0 },
        &mut out,
    )?;
    Ok(out)
}

fn one(record: &str) -> Event<'_> {
    let mut events = parse(record).expect("valid Windows event");
    assert_eq!(events.len(), 1);
    events.remove(0)
}

const SYSMON_PROCESS: &str = r##"{"Event":{"#attributes":{"xmlns":"http://schemas.microsoft.com/win/2004/08/events/event"},"System":{"Provider":{"#attributes":{"Name":"Microsoft-Windows-Sysmon","Guid":"5770385F-C22A-43E0-BF4C-06F5698FFBD9"}},"EventID":1,"Level":4,"TimeCreated":{"#attributes":{"SystemTime":"2025-11-27T07:40:10.165324Z"}},"Channel":"Microsoft-Windows-Sysmon/Operational","Computer":"ws01","Security":{"#attributes":{"UserID":"S-1-5-18"}}},"EventData":{"UtcTime":"2025-11-27 07:40:10.132","Image":"C:\\Windows\\System32\\cmd.exe","CommandLine":"cmd.exe /c whoami","User":"CORP\\alice","LogonId":"0x3e7a1","ParentImage":"C:\\Windows\\explorer.exe"}}}"##;

#[test]
fn nested_sysmon_process_creation_fills_columns() {
    let event = one(SYSMON_PROCESS);
    assert_eq!(event.class, Class::ProcessActivity);
    assert_eq!(event.activity.as_deref(), Some("launch"));
    assert_eq!(event.outcome, Some(Outcome::Success));
    assert_eq!(event.host.as_deref(), Some("ws01"));
    assert_eq!(event.user.as_deref(), Some("CORP\\alice"));
    assert_eq!(
        event.process.as_deref(),
        Some("C:\\Windows\\System32\\cmd.exe")
    );
    assert_eq!(event.command_line.as_deref(), Some("cmd.exe /c whoami"));
    assert_eq!(event.session_id.as_deref(), Some("0x3e7a1"));
    assert_eq!(event.severity, Some(severity::INFORMATIONAL));
    assert_eq!(
        event.time,
        time::parse_rfc3339("2025-11-27T07:40:10.165324Z"),
        "System.TimeCreated wins over UtcTime"
    );
}

#[test]
fn nested_fields_are_also_under_their_bare_names() {
    let event = one(SYSMON_PROCESS);
    assert_eq!(
        event.attr("Event.EventData.CommandLine"),
        Some("cmd.exe /c whoami")
    );
    assert_eq!(event.attr("CommandLine"), Some("cmd.exe /c whoami"));
    assert_eq!(event.attr("ParentImage"), Some("C:\\Windows\\explorer.exe"));
    assert_eq!(event.attr("EventID"), Some("1"));
    assert_eq!(
        event.attr("Channel"),
        Some("Microsoft-Windows-Sysmon/Operational")
    );
    assert_eq!(
        event.attr("Provider_Name"),
        Some("Microsoft-Windows-Sysmon")
    );
    assert_eq!(event.attr("Computer"), Some("ws01"));
    assert_eq!(
        event.attr("Event.System.Security.#attributes.UserID"),
        Some("S-1-5-18")
    );
    assert_eq!(event.attr("#attributes.xmlns"), None);
}

#[test]
fn data_array_items_are_named_fields() {
    let event = one(
        r##"{"Event":{"System":{"EventID":{"#attributes":{"Qualifiers":0},"#text":4624},"Channel":"Security","Computer":"dc01","TimeCreated":{"@SystemTime":"2024-05-01T12:00:00Z"}},"EventData":{"Data":[{"#attributes":{"Name":"TargetUserName"},"#text":"alice"},{"#attributes":{"Name":"TargetLogonId"},"#text":"0x1f2e"},{"@Name":"IpAddress","#text":"::ffff:10.0.0.5"},{"#attributes":{"Name":"IpPort"},"#text":"50123"},{"#attributes":{"Name":"LogonType"},"#text":"3"},{"#attributes":{"Name":"Empty"}}]}}}"##,
    );
    assert_eq!(event.class, Class::Authentication);
    assert_eq!(event.activity.as_deref(), Some("logon"));
    assert_eq!(event.outcome, Some(Outcome::Success));
    assert_eq!(event.user.as_deref(), Some("alice"));
    assert_eq!(event.src_ip.as_deref(), Some("10.0.0.5"));
    assert_eq!(event.src_port, Some(50123));
    assert_eq!(event.session_id.as_deref(), Some("0x1f2e"));
    assert_eq!(event.time, time::parse_rfc3339("2024-05-01T12:00:00Z"));
    assert_eq!(event.attr("LogonType"), Some("3"));
    assert_eq!(event.attr("Event.EventData.LogonType"), Some("3"));
    assert_eq!(event.attr("Empty"), Some(""));
    assert_eq!(event.attr("EventID"), Some("4624"));
}

#[test]
fn single_data_item_and_unnamed_data_are_kept() {
    let event = one(
        r##"{"Event":{"System":{"EventID":7036,"Channel":"System"},"EventData":{"Data":{"#attributes":{"Name":"param1"},"#text":"Print Spooler"},"DataSize":"4"}}}"##,
    );
    assert_eq!(event.attr("param1"), Some("Print Spooler"));
    assert_eq!(event.attr("DataSize"), Some("4"));
    assert_eq!(event.class, Class::Other);
    assert_eq!(event.outcome, None);
    let event = one(r##"{"Event":{"System":{"EventID":104},"EventData":{"Data":["a","b"]}}}"##);
    assert_eq!(event.attr("Event.EventData.Data.1"), Some("b"));
}

#[test]
fn user_data_fields_get_bare_names() {
    let event = one(
        r##"{"Event":{"System":{"EventID":5858,"Channel":"Microsoft-Windows-WMI-Activity/Operational"},"UserData":{"Operation_ClientFailure":{"#attributes":{"xmlns":"http://manifests.microsoft.com/win/2006/windows/WMI"},"User":"corp\\bob","Operation":"ExecMethod"}}}}"##,
    );
    assert_eq!(event.attr("Operation"), Some("ExecMethod"));
    assert_eq!(event.user.as_deref(), Some("corp\\bob"));
    assert_eq!(event.attr("xmlns"), None);
}

#[test]
fn flat_failed_logon_is_an_authentication_failure() {
    let event = one(
        r##"{"SourceName":"Microsoft-Windows-Security-Auditing","Level":"0","Channel":"Security","Hostname":"pc1","TimeCreated":"2022-08-18T06:56:26.233Z","@timestamp":"2022-08-18T06:56:27Z","EventID":4625,"Message":"An account failed to log on.","SubjectUserName":"PC1$","TargetUserName":"admin","Status":"0xc000006d","LogonType":"3","IpAddress":"203.0.113.9","IpPort":"0","SubjectLogonId":"0x3e7"}"##,
    );
    assert_eq!(event.class, Class::Authentication);
    assert_eq!(event.outcome, Some(Outcome::Failure));
    assert_eq!(event.user.as_deref(), Some("admin"));
    assert_eq!(event.src_ip.as_deref(), Some("203.0.113.9"));
    assert_eq!(event.src_port, None, "port 0 is no port");
    assert_eq!(event.session_id, None);
    assert_eq!(event.host.as_deref(), Some("pc1"));
    assert_eq!(
        event.message.as_deref(),
        Some("An account failed to log on.")
    );
    assert_eq!(event.time, time::parse_rfc3339("2022-08-18T06:56:26.233Z"));
    assert_eq!(
        event.attr("Provider_Name"),
        Some("Microsoft-Windows-Security-Auditing")
    );
}

#[test]
fn flat_security_process_creation_uses_new_process_name() {
    let event = one(
        r##"{"EventID":4688,"Channel":"security","Hostname":"dc1","EventTime":"2020-06-09 22:51:04","NewProcessName":"C:\\Windows\\System32\\sppsvc.exe","CommandLine":"C:\\windows\\system32\\sppsvc.exe","SubjectUserName":"DC1$","SubjectLogonId":"0x3e7","Severity":"INFO"}"##,
    );
    assert_eq!(event.class, Class::ProcessActivity);
    assert_eq!(
        event.process.as_deref(),
        Some("C:\\Windows\\System32\\sppsvc.exe")
    );
    assert_eq!(event.user.as_deref(), Some("DC1$"));
    assert_eq!(event.session_id.as_deref(), Some("0x3e7"));
    assert_eq!(event.severity, Some(severity::INFORMATIONAL));
    assert_eq!(event.time, time::parse_rfc3339("2020-06-09T22:51:04Z"));
}

#[test]
fn sysmon_network_dns_and_file_events() {
    let event = one(
        r##"{"EventID":3,"Channel":"Microsoft-Windows-Sysmon/Operational","Image":"C:\\dns.exe","User":"NT AUTHORITY\\SYSTEM","SourceIp":"172.18.38.5","SourcePort":"53","DestinationIp":"192.168.5.2","DestinationPort":"49246","Protocol":"udp"}"##,
    );
    assert_eq!(event.class, Class::NetworkActivity);
    assert_eq!(event.src_ip.as_deref(), Some("172.18.38.5"));
    assert_eq!(event.src_port, Some(53));
    assert_eq!(event.dst_ip.as_deref(), Some("192.168.5.2"));
    assert_eq!(event.dst_port, Some(49246));
    let event = one(
        r##"{"EventID":22,"SourceName":"Microsoft-Windows-Sysmon","QueryName":"arc.msn.com","QueryStatus":"0","Image":"C:\\bg.exe"}"##,
    );
    assert_eq!(event.class, Class::DnsActivity);
    assert_eq!(event.resource.as_deref(), Some("arc.msn.com"));
    assert_eq!(event.outcome, Some(Outcome::Success));
    let event = one(
        r##"{"EventID":23,"Channel":"Microsoft-Windows-Sysmon/Operational","TargetFilename":"C:\\x.txt"}"##,
    );
    assert_eq!(event.class, Class::FileActivity);
    assert_eq!(event.activity.as_deref(), Some("delete"));
    assert_eq!(event.resource.as_deref(), Some("C:\\x.txt"));
}

#[test]
fn account_changes_name_actor_and_target() {
    let event = one(
        r##"{"EventID":4720,"Channel":"Security","SubjectUserName":"admin","TargetUserName":"backdoor"}"##,
    );
    assert_eq!(event.class, Class::AccountChange);
    assert_eq!(event.activity.as_deref(), Some("create"));
    assert_eq!(event.user.as_deref(), Some("admin"));
    assert_eq!(event.resource.as_deref(), Some("backdoor"));
    let event = one(r##"{"EventID":4732,"Channel":"Security","TargetUserName":"Administrators"}"##);
    assert_eq!(event.activity.as_deref(), Some("group_add_member"));
    let event = one(r##"{"EventID":4740,"TargetUserName":"bob"}"##);
    assert_eq!(event.activity.as_deref(), Some("lock"));
}

#[test]
fn classification_respects_the_channel() {
    let event = one(r##"{"EventID":1,"Channel":"Microsoft-Windows-Kernel-IO/Operational"}"##);
    assert_eq!(event.class, Class::Other);
    let event = one(r##"{"EventID":4688,"Channel":"Microsoft-Windows-PowerShell/Operational"}"##);
    assert_eq!(event.class, Class::Other);
    let event = one(
        r##"{"EventID":4663,"Channel":"Security","ObjectType":"Key","ObjectName":"\\REGISTRY\\MACHINE"}"##,
    );
    assert_eq!(event.class, Class::Other);
    assert_eq!(event.resource.as_deref(), Some("\\REGISTRY\\MACHINE"));
    let event = one(
        r##"{"EventID":4663,"Channel":"Security","ObjectType":"File","ObjectName":"C:\\secret.txt"}"##,
    );
    assert_eq!(event.class, Class::FileActivity);
    let event = one(r##"{"EventID":4663,"Channel":"Security","ObjectType":"Process"}"##);
    assert_eq!(event.class, Class::Other);
    let event = one(
        r##"{"EventID":4769,"Channel":"Security","Status":"0x6","TargetUserName":"svc@CORP"}"##,
    );
    assert_eq!(event.outcome, Some(Outcome::Failure));
    let event = one(r##"{"EventID":"not a number","Channel":"Security"}"##);
    assert_eq!(event.class, Class::Other);
}

#[test]
fn winlogbeat_shape_gets_bare_names() {
    let event = one(
        r##"{"@timestamp":"2024-05-01T12:00:00.000Z","message":"Process Create","winlog":{"channel":"Microsoft-Windows-Sysmon/Operational","event_id":1,"computer_name":"ws02","provider_name":"Microsoft-Windows-Sysmon","event_data":{"Image":"C:\\a.exe","CommandLine":"a.exe -x","User":"CORP\\carol"}},"log":{"level":"information"}}"##,
    );
    assert_eq!(event.class, Class::ProcessActivity);
    assert_eq!(event.host.as_deref(), Some("ws02"));
    assert_eq!(event.command_line.as_deref(), Some("a.exe -x"));
    assert_eq!(event.attr("CommandLine"), Some("a.exe -x"));
    assert_eq!(event.attr("EventID"), Some("1"));
    assert_eq!(event.severity, Some(severity::INFORMATIONAL));
    assert_eq!(event.message.as_deref(), Some("Process Create"));
    assert_eq!(event.time, time::parse_rfc3339("2024-05-01T12:00:00Z"));
}

#[test]
fn levels_map_to_severity() {
    assert_eq!(severity_of_level("1"), Some(severity::CRITICAL));
    assert_eq!(severity_of_level("2"), Some(severity::HIGH));
    assert_eq!(severity_of_level("3"), Some(severity::MEDIUM));
    assert_eq!(severity_of_level("4"), Some(severity::INFORMATIONAL));
    assert_eq!(severity_of_level("0"), Some(severity::INFORMATIONAL));
    assert_eq!(severity_of_level("Warning"), Some(severity::MEDIUM));
    assert_eq!(severity_of_level("99"), None);
}

#[test]
fn records_that_are_not_windows_events_are_refused() {
    assert!(parse(r##"{"Event":{"System":{"Channel":"Security"}}}"##).is_err());
    assert!(parse(r##"{"msg":"hello"}"##).is_err());
    assert!(parse(r##"[{"EventID":1}]"##).is_err());
    assert!(parse(r##"{"EventID":4624,"Channel":"Sec"##).is_err());
    assert!(parse(r##"{"EventID":"-"}"##).is_err());
    assert!(parse("").is_err());
}

proptest::proptest! {
    #[test]
    fn never_panics(text in ".{0,256}") {
        let _ = parse(&text);
    }

    #[test]
    fn never_panics_on_windows_like_json(
        id in 0u32..6000,
        channel in ".{0,24}",
        name in ".{0,12}",
        text in ".{0,20}",
        nested in proptest::bool::ANY,
    ) {
        let record = if nested {
            serde_json::json!({"Event": {"System": {"EventID": id, "Channel": channel},
                "EventData": {"Data": [{"#attributes": {"Name": name}, "#text": text}],
                "IpAddress": text, "IpPort": name}}})
        } else {
            serde_json::json!({"EventID": id, "Channel": channel, "IpAddress": text,
                "SourcePort": name, "Level": name, "ObjectType": text})
        };
        let _ = parse(&record.to_string());
    }
}
