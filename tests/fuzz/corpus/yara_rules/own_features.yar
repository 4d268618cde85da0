private rule is_pe { condition: uint16(0) == 0x5A4D }
global rule small { condition: filesize < 10MB }
rule features : t1 t2 {
  meta:
    s = "text" i = -5 b = false
  strings:
    $x1 = "xor me" xor(1-255)
    $b64 = "base64 text" base64 base64wide
    $n = "NoCase" nocase fullword
    $h1 = { 4D 5A ( 90 | 00 ) [0-2] ?5 }
    $r1 = /[A-Za-z]{3,}\.(exe|dll)\b/is
    $p = "private" private
  condition:
    is_pe and (any of ($x*, $b64) or 2 of them) and
    for 2 i in (1..#n) : ( @n[i] < 0x1000 and !n[i] == 6 ) and
    $h1 in (0..0x40) and not defined $r1 or
    for any k in (1, 2, 3) : ( k == 2 ) and
    int32be(4) & 0xff00 == 0 and (filesize \ 2) % 3 != 1
}
