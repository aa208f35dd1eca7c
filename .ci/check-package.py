#!/usr/bin/env python3
"""Checks that the packed TelehealthMessaging .nupkg/.snupkg in the folder given carry what a published package needs."""
import glob, os, re, sys, zipfile

folder = sys.argv[1]
nupkgs = [p for p in glob.glob(os.path.join(folder, "TelehealthMessaging.*.nupkg"))]
snupkgs = glob.glob(os.path.join(folder, "TelehealthMessaging.*.snupkg"))
problems = []
if len(nupkgs) != 1 or len(snupkgs) != 1:
    sys.exit(f"expected one TelehealthMessaging nupkg and one snupkg in {folder}, found {nupkgs + snupkgs}")

with zipfile.ZipFile(nupkgs[0]) as z:
    names = set(z.namelist())
    for entry in ["icon.png", "README.md", "TelehealthMessaging.nuspec",
                  "lib/net8.0/TelehealthMessaging.dll", "lib/net8.0/TelehealthMessaging.xml",
                  "lib/net10.0/TelehealthMessaging.dll", "lib/net10.0/TelehealthMessaging.xml"]:
        if entry not in names:
            problems.append(f"nupkg lacks {entry}")
    nuspec = z.read("TelehealthMessaging.nuspec").decode("utf-8")
    for needle in ['<license type="expression">MIT</license>', "<icon>icon.png</icon>",
                   "<readme>README.md</readme>", '<repository type="git"']:
        if needle not in nuspec:
            problems.append(f"nuspec lacks {needle}")
    # Only the design card's dependencies (and System.Text.Json for net8.0 only).
    allowed = {"BouncyCastle.Cryptography", "Microsoft.Extensions.DependencyInjection.Abstractions",
               "Microsoft.Extensions.Http.Resilience", "System.Text.Json"}
    deps = set(re.findall(r'<dependency id="([^"]+)"', nuspec))
    if deps - allowed:
        problems.append(f"unexpected package dependencies: {sorted(deps - allowed)}")
    icon = z.read("icon.png")
    if icon[:8] != b"\x89PNG\r\n\x1a\n":
        problems.append("icon.png is not a PNG")
    else:
        width, height = int.from_bytes(icon[16:20], "big"), int.from_bytes(icon[20:24], "big")
        if width != height or width < 128:
            problems.append(f"icon.png is {width}x{height}; it must be square and at least 128x128")

with zipfile.ZipFile(snupkgs[0]) as z:
    for pdb in ["lib/net8.0/TelehealthMessaging.pdb", "lib/net10.0/TelehealthMessaging.pdb"]:
        if pdb not in z.namelist():
            problems.append(f"snupkg lacks {pdb}")

if problems:
    print("\n".join(problems))
    sys.exit(1)
print(f"package ok: {os.path.basename(nupkgs[0])}, {os.path.basename(snupkgs[0])}")
