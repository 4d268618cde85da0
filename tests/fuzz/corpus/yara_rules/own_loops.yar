rule loops {
  strings:
    $a = "php"
  condition:
    for any i in (1..#a): (@a[i] > 0x400) and for all of ($*) : ( # > 0 )
}
