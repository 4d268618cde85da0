rule text_and_hex : tag1 {
  meta:
    description = "text, wide, hex with jumps"
    n = 3
  strings:
    $a = "Mozilla" nocase
    $b = "pdb" wide ascii
    $h = { 4D 5A [2-8] ?? 00 }
  condition:
    uint16(0) == 0x5A4D and uint32(uint32(0x3c)) == 0x00004550 and ($a or $b) and $h at 0
}
