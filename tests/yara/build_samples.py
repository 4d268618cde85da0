#!/usr/bin/env python3
"""build_samples.py - writes one test file per JPCERT/CC Tick YARA rule
(../shared/corpora/yara/jpcert-tick.yara), built from that rule's own
strings and condition, plus near misses and benign files.

Nothing here is malware: a sample is a minimal PE header (where the rule
checks for one) followed by the literal strings the rule looks for,
separated by filler.  The recipes below were written by reading each rule;
the comment on each says which branch of the condition it satisfies.

Usage: build_samples.py OUTDIR      writes OUTDIR/<name>.bin and prints
       one line per file: <name> <space-separated expected rules or ->.
The samples are never committed: tests build them at test time.
"""
import os
import random
import struct
import sys

MIB = 1024 * 1024


def w(s):
    """A wide (UTF-16LE) string, as YARA's `wide` modifier matches it."""
    return s.encode("utf-16-le")


def pe_header():
    """A small, plausible PE32 header: MZ at 0, e_lfanew = 0x80 pointing
    at "PE\\0\\0", an i386 COFF header with one .text section and a PE32
    optional header.  The body starts at 0x400 (the section's raw data)."""
    dos = bytearray(0x80)
    dos[0:2] = b"MZ"
    struct.pack_into("<H", dos, 0x02, 0x90)   # bytes on last page
    struct.pack_into("<H", dos, 0x04, 3)      # pages
    struct.pack_into("<H", dos, 0x08, 4)      # header paragraphs
    struct.pack_into("<H", dos, 0x18, 0x40)   # relocation table offset
    struct.pack_into("<I", dos, 0x3C, 0x80)   # e_lfanew
    dos[0x40:0x40 + 39] = b"This program cannot be run in DOS mode.\r"[:39]
    coff = struct.pack("<4sHHIIIHH", b"PE\0\0", 0x014C, 1, 0x58A3C2D1,
                       0, 0, 0xE0, 0x0102)
    opt = bytearray(0xE0)
    struct.pack_into("<HBB", opt, 0, 0x010B, 10, 0)   # PE32, linker 10.0
    struct.pack_into("<III", opt, 4, 0x1000, 0, 0)    # code, data sizes
    struct.pack_into("<II", opt, 16, 0x1000, 0x1000)  # entry, code base
    struct.pack_into("<I", opt, 28, 0x400000)         # image base
    struct.pack_into("<II", opt, 32, 0x1000, 0x200)   # alignments
    struct.pack_into("<HH", opt, 40, 5, 1)            # OS version
    struct.pack_into("<HH", opt, 48, 5, 1)            # subsystem version
    struct.pack_into("<II", opt, 56, 0x2000, 0x400)   # image, header size
    struct.pack_into("<H", opt, 68, 2)                # GUI subsystem
    struct.pack_into("<I", opt, 92, 16)               # data directories
    sect = struct.pack("<8sIIIIIIHHI", b".text", 0x1000, 0x1000, 0x1000,
                       0x400, 0, 0, 0, 0, 0x60000020)
    head = bytes(dos) + coff + bytes(opt) + sect
    return head + b"\0" * (0x400 - len(head))


FILL = b"\0" * 13 + b"\xcc" * 3   # between strings, so none runs into another


def body(parts):
    out = b""
    for p in parts:
        out += p + FILL
    return out


# name: (pe header?, parts, minimum size or None, expected rules)
# Expected rules list every rule the file should match: the rule the sample
# is for, and any other rule that shares the strings used (said so below).
UA_15 = b"Mozilla/4.0 (compatible; MSIE 8.0; Windows NT 5.1; SV1)"
DALBOT_PDB = (b"C:\\Users\\jack\\Documents\\Visual Studio 2010\\down_new\\"
              b"Release\\down_new.pdb")
DATPER_COMMON = [b"\xe8\x03\x00\x00", b"|||",
                 b"Content-Type: application/x-www-form-urlencoded"]

RECIPES = {
    # ($pdb1 or $pdb2 or $pdb3 or all of ($s*)) and MZ and PE at e_lfanew
    "tick_xxmm_parts__pdb": (True, [b"C:\\Users\\123\\Desktop\\xxmm3\\"],
                             None, ["tick_xxmm_parts"]),
    "tick_xxmm_parts__strings": (True, [b"IsLogAllAccess", b"allaccess.log"],
                                 None, ["tick_xxmm_parts"]),
    # all of them (memory scan rule: no header needed)
    "tick_xxmm_strings": (False, [b"setupParameter:", b"loaderParameter:",
                                  b"parameter:"], None, ["tick_xxmm_strings"]),
    # $a1 and $b1 and $c1 and $delphi (ascii or wide) and (push64 or push)
    "tick_Datper__push": (False, DATPER_COMMON + [
        b"SOFTWARE\\Borland\\Delphi\\", b"\x68\x30\x75\x00\x00"],
        None, ["tick_Datper"]),
    "tick_Datper__push64_wide": (False, DATPER_COMMON + [
        w("SOFTWARE\\Borland\\Delphi\\"), b"\xc7\xc1\x30\x75\x00\x00"],
        None, ["tick_Datper"]),
    # $ua (regex, instantiated: \d -> 5 / 1, \d{1,2} -> 10) and $delphi and
    # #php > 3 and $mmid and $ccaacmds
    "tick_daserf_mmid": (False, [
        b"Mozilla/5.0 (compatible; MSIE 10.0; Windows NT 6.1; SV1)",
        b"Delphi", b"MMID", b"ccaacmds",
        b"a.php", b"b.php", b"c.php", b"d.php"], None, ["tick_daserf_mmid"]),
    # all of them
    "tick_daserf_1_5_mini": (False, [UA_15, b"n:1.5", b"Mini"], None,
                             ["tick_daserf_1_5_mini"]),
    # all of them; $s4 is wide only
    "tick_daserf_1_5_not_mini": (False, [UA_15, b"Progman", b".asp",
                                         w("DRIVE_")], None,
                                 ["tick_daserf_1_5_not_mini"]),
    "tick_Gofarer_ua": (False, [
        b"Mozilla/4.0+(compatible;+MSIE+8.0;+Windows+NT+6.1;+Trident/4.0;"
        b"+SLCC2;+.NET+CLR+2.0.50727;+.NET4.0E)"], None, ["tick_Gofarer_ua"]),
    # all of them: a PHP panel, so plain text
    "tick_xxmm_panel": (False, [
        b"<?php $ip = $_SERVER['REMOTE_ADDR'];",
        b"$ua = $_SERVER['HTTP_USER_AGENT'];", b"$clienttype=1;",
        b"$ccmd=''; $f = 'ccc_' . $id; $g = 'sss_' . $id;",
        b"echo '|||';"], None, ["tick_xxmm_panel"]),
    "tick_SKYSEA_downloader": (True, [
        b"c:\\Projects\\vs2013\\phc-tools\\Release\\loader.pdb",
        b"%s\\config\\.regeditKey.rc"], None, ["tick_SKYSEA_downloader"]),
    # as Datper, with $d1 and without $delphi
    "tick_Datper_RSAtype": (False, DATPER_COMMON + [
        b"\xa8\x03\x10\x00\xff\xff\xff\xff", b"\x68\x30\x75\x00\x00"],
        None, ["tick_Datper_RSAtype"]),
    "tick_app_js": (False, [
        b"WScript.Echo(\"File download error!\");",
        b"var u = \"/tools/uninstaller.sh\";", b"run(\"./npm stop\");"],
        None, ["tick_app_js"]),
    # $pdb or ($comment and $mac and $aacmd)
    "tick_DALBOTDRPR_strings__cmd": (True, [
        b"CreatePipe(cmd) failed!!!", b"%.2x%.2x%.2x%.2x%.2x%.2x", b"AAAAA"],
        None, ["tick_DALBOTDRPR_strings"]),
    # $pdb or ($message and $url)
    "tick_DALBOT_strings__url": (True, [
        b"CreatePipe(cmd) failed!!!", b"&uc=go"], None,
        ["tick_DALBOT_strings"]),
    # Both DALBOT rules have the same $pdb string: one file, both rules.
    "tick_DALBOT_strings__pdb": (True, [DALBOT_PDB], None,
                                 ["tick_DALBOTDRPR_strings",
                                  "tick_DALBOT_strings"]),
    # ($pdb3 or $pdb4 or $pdb5) and MZ
    "tick_ABK_pdb__hidder": (True, [
        b"C:\\Users\\Frank\\Desktop\\ABK\\Release\\Hidder.pdb"], None,
        ["tick_ABK_pdb"]),
    "tick_ABK_pdb__avenger": (True, [
        b"C:\\Users\\Frank\\Documents\\Visual Studio 2010\\Projects\\avenger"
        b"\\Release\\avenger.pdb"], None, ["tick_ABK_pdb"]),
    "tick_ABK_pdb__abk": (True, [
        b"C:\\Users\\Frank\\Desktop\\ABK\\Release\\ABK.pdb"], None,
        ["tick_ABK_pdb"]),
    # MZ and filesize > 10MB and (wide "PccNT.exe" or $bytecode)
    "tick_ABK_downloader__wide": (True, [w("PccNT.exe")], 10 * MIB + 4096,
                                  ["tick_ABK_downloader"]),
    "tick_ABK_downloader__bytecode": (True, [
        b"\x50\x63\x63\x00\x4e\x54\x2e\x00\x65\x78\x65\x00"],
        10 * MIB + 4096, ["tick_ABK_downloader"]),
    # MZ and filesize < 50MB and $UA
    "tick_ABK_downloader_susp_ua": (True, [
        b"Mozilla/4.0(compatible;MSIE8.0;WindowsNT6.0;Trident/4.0)"], None,
        ["tick_ABK_downloader_susp_ua"]),
    # 6 of ($gofunc*) or 5 of ($log*) or all of ($str*) or all of ($gofile*)
    "malware_gokcpdoor_golang__gofunc": (False, [
        b"CopyConn2StdinPipe", w("CopyStdoutPipe2Conn"), b"handleConnection",
        b"addudpforward", b"addtcpforward", w("addsocks5")], None,
        ["malware_gokcpdoor_golang"]),
    "malware_gokcpdoor_golang__log": (False, [
        b"[+] socks5 add ok", b"[+] portforward add ok",
        w("[-] First param must be one of [add,del,list]"),
        b"[-] socks5 del param num must exceed 3!",
        b"[*] portforward list:"], None, ["malware_gokcpdoor_golang"]),
    "malware_gokcpdoor_golang__str": (False, [
        b"!!!ok!!!", b"###downloadend$$$", b"###uploadend$$$"], None,
        ["malware_gokcpdoor_golang"]),
    # $gofile5 is the literal text "gokcpdoor[0-9]" (a text string, not a
    # regular expression).
    "malware_gokcpdoor_golang__gofile": (False, [
        b"kcp.go", b"udp.go", w("target.go"), b"exec_lin.go",
        b"gokcpdoor[0-9]"], None, ["malware_gokcpdoor_golang"]),

    # Near misses: one condition of a rule left unmet, so nothing matches.
    # xxmm_parts without the PE header.
    "miss__xxmm_parts_no_pe": (False, [b"C:\\Users\\123\\Desktop\\xxmm3\\"],
                               None, []),
    # xxmm_parts with MZ but e_lfanew pointing at no "PE\0\0" (patched below).
    "miss__xxmm_parts_bad_lfanew": (True, [b"IsLogAllAccess",
                                           b"allaccess.log"], None, []),
    # daserf_mmid with 3 ".php" (needs more than 3).
    "miss__daserf_mmid_three_php": (False, [
        b"Mozilla/5.0 (compatible; MSIE 10.0; Windows NT 6.1; SV1)",
        b"Delphi", b"MMID", b"ccaacmds", b"a.php", b"b.php", b"c.php"],
        None, []),
    # daserf_1_5_not_mini with DRIVE_ in ASCII (the rule wants it wide).
    "miss__daserf_not_mini_ascii_drive": (False, [
        UA_15, b"Progman", b".asp", b"DRIVE_"], None, []),
    # ABK_downloader below 10 MB.
    "miss__abk_downloader_small": (True, [w("PccNT.exe")], None, []),
    # gokcpdoor with 5 of ($gofunc*) (needs 6).
    "miss__gokcpdoor_five_gofunc": (False, [
        b"CopyConn2StdinPipe", b"CopyStdoutPipe2Conn", b"handleConnection",
        b"addudpforward", b"addtcpforward"], None, []),
    # Datper without either push instruction.
    "miss__datper_no_push": (False, DATPER_COMMON + [
        b"SOFTWARE\\Borland\\Delphi\\"], None, []),
}


def build(outdir):
    lines = []
    for name, (pe, parts, min_size, expected) in sorted(RECIPES.items()):
        data = bytearray((pe_header() if pe else b"") + body(parts))
        if name == "miss__xxmm_parts_bad_lfanew":
            struct.pack_into("<I", data, 0x3C, 0x100)
        path = os.path.join(outdir, name + ".bin")
        with open(path, "wb") as f:
            f.write(data)
            if min_size is not None and len(data) < min_size:
                f.truncate(min_size)   # zeros after the strings
        lines.append((name, expected))
    # Benign: a random body behind a valid PE header (fixed seed), and a
    # real ELF executable from this machine.
    rnd = random.Random(20170801)
    with open(os.path.join(outdir, "benign__random_pe.bin"), "wb") as f:
        f.write(pe_header() + rnd.randbytes(256 * 1024))
    lines.append(("benign__random_pe", []))
    with open("/bin/true", "rb") as src, \
            open(os.path.join(outdir, "benign__true.bin"), "wb") as dst:
        dst.write(src.read())
    lines.append(("benign__true", []))
    return lines


def main():
    if len(sys.argv) != 2 or not os.path.isdir(sys.argv[1]):
        sys.stderr.write("usage: build_samples.py OUTDIR (an existing "
                         "directory)\n")
        return 2
    for name, expected in build(sys.argv[1]):
        print(name, " ".join(expected) if expected else "-")
    return 0


if __name__ == "__main__":
    sys.exit(main())
