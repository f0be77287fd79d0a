#!/usr/bin/env python3
"""Generates seeds/catalogue.json, the built-in catalogue (presets, OS, software, traffic
plans, stock servers, Jenkins tasks). Run it after editing the tables below; the JSON is
committed so that the emulator needs no Python."""
import json, os

LOCS = ["NL", "US", "FI", "DE", "IS", "TR", "UK"]
# Price level of each location relative to NL (EUR); US is also sold in USD.
LEVEL = {"NL": 1.0, "US": 1.05, "FI": 0.95, "DE": 1.0, "IS": 1.1, "TR": 0.9, "UK": 1.1}

def part(cid, name, count=1, size=0, detail="", kind=""):
    return {"component_id": cid, "name": name, "count": count, "size": size, "detail": detail, "kind": kind}

def vm_hw(cores, ram, disk):
    # oVirt disks come in 10 GB units (5 GB ones for sizes that need them), so that the
    # hardware adds up to exactly the preset's disk.
    unit, cid = (10, 1420) if disk % 10 == 0 else (5, 1419)
    return {"platform": part(1101, "Ovirt VM"),
            "cpu": part(1205, "VPS Core", cores, 1, "2.4", "INTEL"),
            "ram": part(1311, "VPS RAM 1Gb", ram, 1, "", "VRAM"),
            "disks": [part(cid, f"VPS HDD {unit} Gb", disk // unit, unit, "", "SSD")]}

def prices(base, locs):
    out = {}
    for l in locs:
        eur = round(base * LEVEL[l], 2)
        out[l] = {"EUR": int(eur) if eur == int(eur) else eur,
                  "USD": round(eur * 1.08, 2) if l == "US" else -1}
    return out

presets = []
def preset(pid, name, kind, desc, cpu, ram, hdd, base, locs, hw, gpu="", available=40, tags=()):
    server_type = {"vm": "Virtual Private Server", "bm": "Dedicated Server", "gpu": "GPU Server",
                   "vgpu": "Virtual GPU Server"}[kind]
    presets.append({"id": pid, "name": name, "kind": kind, "description": desc, "cpu": cpu, "ram": ram,
                    "hdd": str(hdd), "gpu": gpu, "locations": locs, "virtual": 1 if kind in ("vm", "vgpu") else 0,
                    "price": prices(base, locs), "available": available, "server_type": server_type,
                    "hardware": hw, "tags": [{"tag": kind, "value": "1", "extra": ""}] + list(tags)})

ALL = LOCS
preset(108, "vm.pico", "vm", "VM instance 1/1/15 SSD", 1, 1, 15, 3, ALL, vm_hw(1, 1, 15), available=184,
       tags=[{"tag": "web_group", "value": "Pico", "extra": ""}, {"tag": "stock", "value": "10", "extra": ""}])
preset(109, "vm.nano", "vm", "VM instance 1/2/30 SSD", 1, 2, 30, 5, ALL, vm_hw(1, 2, 30), available=160)
preset(110, "vm.small", "vm", "VM instance 2/2/40 SSD", 2, 2, 40, 7, ALL, vm_hw(2, 2, 40), available=140)
preset(111, "vm.mini", "vm", "VM instance 4/4/60 SSD", 4, 4, 60, 9, ALL, vm_hw(4, 4, 60), available=120)
preset(112, "vm.medium", "vm", "VM instance 4/8/120 SSD", 4, 8, 120, 18, ALL, vm_hw(4, 8, 120), available=90)
preset(113, "vm.large", "vm", "VM instance 8/16/240 SSD", 8, 16, 240, 36, ALL, vm_hw(8, 16, 240), available=60)
preset(114, "vm.xlarge", "vm", "VM instance 16/32/480 SSD", 16, 32, 480, 72, ["NL", "US", "FI", "DE"],
       vm_hw(16, 32, 480), available=24)
e2288 = lambda ram, disk, dcount, dkind, did: {
    "platform": part(2104, "Supermicro SC813M 1U"), "cpu": part(3217, "Xeon E-2288G", 1, 8, "3.7", "INTEL"),
    "ram": part(3412, "DDR4 ECC 16Gb", ram // 16, 16, "", "DDR4"),
    "disks": [part(did, f"{disk}Gb {dkind}", dcount, disk, dkind, dkind)], "motherboard": "Supermicro X11SCL-F",
    "raid_levels": ["LVM_HBA", "LVM_RAID1", "LVM_RAID0"]}
preset(201, "bm.e2288g.32", "bm", "Xeon E-2288G 8 cores / 32 GB / 2x480 GB SSD", 8, 32, 960, 89,
       ["NL", "DE", "TR", "FI"], e2288(32, 480, 2, "SSD", 3590), available=12)
preset(202, "bm.e2288g.64", "bm", "Xeon E-2288G 8 cores / 64 GB / 2x960 GB NVMe", 8, 64, 1920, 119,
       ["NL", "DE", "US", "UK"], e2288(64, 960, 2, "NVMe", 3605), available=9)
preset(203, "bm.i9-9900k.32", "bm", "Core i9-9900K 8 cores / 32 GB / 512 GB NVMe", 8, 32, 512, 69, ["DE", "NL"],
       {"platform": part(2172, "Mini-ITX 1U chassis"), "cpu": part(3233, "Core i9-9900K", 1, 8, "3.6", "INTEL"),
        "ram": part(3405, "DDR4 16Gb", 2, 16, "", "DDR4"), "disks": [part(3602, "512Gb NVMe", 1, 512, "NVMe", "NVMe")],
        "motherboard": "ASRock Rack E3C246D4I-2T"}, available=5)
preset(204, "bm.2x6230.256", "bm", "2x Xeon Gold 6230 / 256 GB / 2x480 GB SSD + 6x2.4 TB SAS", 40, 256, 15360, 329,
       ["FI", "NL"], {"platform": part(2131, "Dell PowerEdge R640"), "cpu": part(3245, "Xeon Gold 6230", 2, 20, "2.1", "INTEL"),
        "ram": part(3418, "DDR4 ECC 32Gb", 8, 32, "", "DDR4"),
        "disks": [part(3590, "480Gb SSD", 2, 480, "SSD", "SSD"), part(3718, "2400Gb SAS", 6, 2400, "SAS", "HDD")],
        "motherboard": "Dell PowerEdge R640 MB", "hwraid": True, "raid_levels": ["HW_RAID1", "HW_RAID10", "LVM_HBA"]},
       available=3)
preset(301, "gpu.4xa5000", "gpu", "EPYC 7443P / 256 GB / 2x3.84 TB NVMe / 4x RTX A5000", 24, 256, 7680, 1390,
       ["US", "NL"], {"platform": part(2158, "Supermicro SC747 4U GPU"), "cpu": part(3281, "AMD EPYC 7443P", 1, 24, "2.85", "AMD"),
        "ram": part(3418, "DDR4 ECC 32Gb", 8, 32, "", "DDR4"), "disks": [part(3611, "3840Gb NVMe", 2, 3840, "NVMe", "NVMe")],
        "gpu": part(3903, "NVIDIA RTX A5000", 4, 24, "", "GPU"), "motherboard": "Supermicro H12SSL-i"},
       gpu="4x RTX A5000", available=2)
preset(302, "gpu.1xa4000", "gpu", "Ryzen 9 5950X / 128 GB / 1 TB NVMe / RTX A4000", 16, 128, 1024, 289,
       ["NL", "FI"], {"platform": part(2160, "Supermicro SC745 Tower GPU"), "cpu": part(3292, "AMD Ryzen 9 5950X", 1, 16, "3.4", "AMD"),
        "ram": part(3420, "DDR4 ECC 32Gb", 4, 32, "", "DDR4"), "disks": [part(3612, "1024Gb NVMe", 1, 1024, "NVMe", "NVMe")],
        "gpu": part(3905, "NVIDIA RTX A4000", 1, 16, "", "GPU"), "motherboard": "ASRock Rack X570D4U"},
       gpu="1x RTX A4000", available=4)
preset(401, "vgpu.a16.1", "vgpu", "vGPU instance 4/16/100 SSD, 1/4 A16", 4, 16, 100, 99, ["NL"],
       dict(vm_hw(4, 16, 100), gpu=part(3910, "NVIDIA A16 vGPU 4Q", 1, 4, "", "GPU")), gpu="A16 4Q", available=16)

def os_entry(oid, name, family, kinds, user="root", min_ram=1, min_hdd=10, short=None, win=False, pxe=None):
    tags = [{"tag": k, "value": "true", "extra": ""} for k in kinds]
    tags += [{"tag": "family", "value": family, "extra": "70" if win else "50"},
             {"tag": "min_ram", "value": str(min_ram), "extra": ""}, {"tag": "min_hdd", "value": str(min_hdd), "extra": ""},
             {"tag": "user_name", "value": user, "extra": ""}]
    if short:
        tags.append({"tag": "short_name", "value": short, "extra": ""})
    if win:
        tags.append({"tag": "price_per_core_EUR", "value": "2", "extra": ""})
    return {"id": oid, "name": name, "family": family, "kinds": kinds, "user_name": user, "windows": win,
            "price_per_core_eur": 2 if win else 0, "min_ram": min_ram, "min_hdd": min_hdd,
            "pxe_os_id": pxe, "tags": tags}

linux = ["vm", "bm", "gpu", "vgpu"]
oses = [
    os_entry(187, "Ubuntu 22.04", "Ubuntu", linux, pxe=87),
    os_entry(223, "Ubuntu 24.04", "Ubuntu", linux, pxe=123),
    os_entry(180, "Debian 11", "Debian", linux, pxe=80),
    os_entry(211, "Debian 12", "Debian", linux, pxe=111),
    os_entry(183, "RockyLinux 8", "RockyLinux", linux, pxe=83),
    os_entry(205, "RockyLinux 9", "RockyLinux", linux, pxe=105),
    os_entry(214, "AlmaLinux 9", "AlmaLinux", linux, pxe=114),
    os_entry(202, "Windows Server 2022", "Windows Server", ["vm", "vgpu"], "Administrator", 2, 32, "WS 2022 for VPS", True),
    os_entry(196, "Windows Server 2022", "Windows Server", ["bm", "gpu"], "Administrator", 4, 64, "WS 2022 Standard", True, pxe=96),
    os_entry(199, "Windows Server 2019", "Windows Server", ["vm", "bm"], "Administrator", 2, 32, "WS 2019", True, pxe=99),
]

def soft(sid, name, desc, group, task, os_ids, kinds, price=0, min_ram=1):
    tags = [{"tag": k, "value": "1", "extra": "", "internal": 1} for k in kinds]
    tags += [{"tag": "group", "value": group, "extra": "", "internal": 0},
             # 001 shows the os tag's value as an array of id strings.
             {"tag": "os", "value": [str(i) for i in os_ids], "extra": "", "internal": 0},
             {"tag": "min_ram", "value": str(min_ram), "extra": "", "internal": 0},
             {"tag": "task", "value": task, "extra": "", "internal": 1}]
    return {"id": sid, "name": name, "description": desc, "price": price, "icon": "", "task": task,
            "os": os_ids, "kinds": kinds, "min_ram": min_ram, "tags": tags}

deb_ubu = [187, 223, 180, 211]
rh = [183, 205, 214]
software = [
    soft(18, "Grafana", "Analytics and monitoring dashboards.", "Monitoring", "invapi_external_grafana_install.dsl", deb_ubu + rh, linux),
    soft(20, "WordPress", "WordPress with nginx, PHP-FPM and MariaDB.", "CMS", "invapi_external_wordpress_install.dsl", deb_ubu, linux),
    soft(26, "3X-UI + Shadowsocks/Xray/V2ray VPN server", "Graphical panel for a private VPN server.", "VPN servers",
         "invapi_external_3x_vpn_ui_install.dsl", deb_ubu, linux),
    soft(31, "Docker CE", "Docker Engine and the compose plugin.", "Development", "invapi_external_docker_install.dsl", deb_ubu + rh, linux),
    soft(38, "cPanel", "cPanel & WHM hosting control panel (licence billed monthly).", "Control panels",
         "invapi_external_cpanel_install.dsl", [205, 214, 183], ["vm", "bm"], price=19, min_ram=2),
    soft(44, "Nextcloud", "Self-hosted file sync and collaboration.", "Storage", "invapi_external_nextcloud_install.dsl", deb_ubu, linux, min_ram=2),
    soft(49, "Odoo", "Odoo 17 ERP and CRM.", "Business", "invapi_external_odoo_install.dsl", [223, 211], ["vm", "bm"], min_ram=2),
    soft(57, "Ollama + Open WebUI", "Local LLM runtime with a web interface.", "AI", "invapi_external_ollama_install.dsl", [187, 223], ["gpu", "vgpu"], min_ram=16),
]

plans = []
def plan(pid, name, limit_out, bw, price, locs, kinds, main=1):
    # As 001's example: incoming traffic is not limited (999 Tb), EUR is currency_id 0,
    # excess outgoing traffic costs 2 EUR/Tb.
    plans.append({"id": pid, "name": name, "limit_in": 999, "limit_out": limit_out, "rate_in": 0,
                  "rate_out": 2, "bandwidth": bw, "locations": locs, "currency_id": 0, "active": 1, "web_plan": 1,
                  "price": price, "main_plan": main, "kinds": kinds,
                  "tags": [{"tag": k, "value": "1", "extra": ""} for k in kinds]})
plan(25, "3Tb (1Gbps)", 3, 1000, 0, ALL, ["vm", "vgpu"])
plan(26, "10Tb (1Gbps)", 10, 1000, 5, ALL, ["vm", "vgpu"], main=0)
plan(31, "20Tb (1Gbps)", 20, 1000, 0, ALL, ["bm", "gpu"])
plan(32, "Unmetered (1Gbps)", 0, 1000, 49, ["NL", "DE", "FI"], ["bm", "gpu"], main=0)
plan(33, "50Tb (10Gbps)", 50, 10000, 99, ["NL", "US"], ["bm", "gpu"], main=0)

stock = []
def stock_srv(sid, name, loc, hw, perf, group, monthly, ipmi="ami_bmc", hwraid=False, no_auto=False, perflink=""):
    tags = {"ipmi": {"tag": "ipmi", "value": ipmi, "extra": ""}}
    if hwraid:
        tags["hwraid"] = {"tag": "hwraid", "value": "1", "extra": ""}
    if no_auto:
        tags["no_autodeploy"] = {"tag": "no_autodeploy", "value": "1", "extra": ""}
    stock.append({"id": sid, "name": name, "location": loc, "hardware": hw, "cpu_perf": perf,
                  "cpu_perflink": perflink, "group": group, "monthly": monthly, "tags": tags,
                  "ipmi_model": "iDRAC9" if "idrac" in ipmi else "Supermicro"})
stock_srv(40514, "40514", "FI", {"platform": part(2160, "Supermicro SC745 Tower"), "cpu": part(3292, "AMD Ryzen 9 5950X", 1, 16, "3.4", "AMD-MODERN"),
          "ram": part(3420, "DDR4 ECC 32Gb", 4, 32, "", "DDR4"), "disks": [part(3612, "1024Gb NVMe", 1, 1024, "NVMe", "NVMe")],
          "motherboard": "ASRock Rack X570D4U"}, 46719, ["1CPU", "AMD", "AMD-MODERN"], 115,
          perflink="http://www.cpubenchmark.net/cpu_lookup.php?cpu=AMD+Ryzen+9+5950X&id=3862")
stock_srv(44717, "44717 2U", "FI", {"platform": part(2129, "Dell PowerEdge R720"), "cpu": part(3240, "Xeon E5-2680v2", 2, 10, "2.8", "INTEL"),
          "ram": part(3401, "DDR3 REG 16Gb", 8, 16, "", "DDR3"), "disks": [part(3590, "960Gb SSD", 1, 960, "SSD", "SSD")],
          "motherboard": "DELL PE R720 MB (native)", "hwraid": True}, 12615, ["2CPU", "INTEL"], 107, ipmi="dell_idrac9", hwraid=True,
          perflink="http://www.cpubenchmark.net/cpu_lookup.php?cpu=Intel+Xeon+E5-2680+v2+%40+2.80GHz&id=2061")
stock_srv(45210, "45210", "NL", {"platform": part(2104, "Supermicro SC813M 1U"), "cpu": part(3217, "Xeon E-2288G", 1, 8, "3.7", "INTEL"),
          "ram": part(3412, "DDR4 ECC 16Gb", 4, 16, "", "DDR4"), "disks": [part(3605, "960Gb NVMe", 2, 960, "NVMe", "NVMe")],
          "motherboard": "Supermicro X11SCL-F"}, 15946, ["1CPU", "INTEL"], 99)
stock_srv(45388, "45388", "NL", {"platform": part(2131, "Dell PowerEdge R640"), "cpu": part(3245, "Xeon Gold 6230", 2, 20, "2.1", "INTEL"),
          "ram": part(3418, "DDR4 ECC 32Gb", 6, 32, "", "DDR4"), "disks": [part(3590, "480Gb SSD", 2, 480, "SSD", "SSD")],
          "motherboard": "Dell PowerEdge R640 MB", "hwraid": True}, 32680, ["2CPU", "INTEL"], 245, ipmi="dell_idrac9", hwraid=True)
stock_srv(46102, "46102", "DE", {"platform": part(2172, "Mini-ITX 1U chassis"), "cpu": part(3233, "Core i9-9900K", 1, 8, "3.6", "INTEL"),
          "ram": part(3405, "DDR4 16Gb", 4, 16, "", "DDR4"), "disks": [part(3602, "512Gb NVMe", 2, 512, "NVMe", "NVMe")],
          "motherboard": "ASRock Rack E3C246D4I-2T"}, 18623, ["1CPU", "INTEL"], 79, no_auto=True)
stock_srv(46230, "46230", "US", {"platform": part(2158, "Supermicro SC747 4U GPU"), "cpu": part(3281, "AMD EPYC 7443P", 1, 24, "2.85", "AMD"),
          "ram": part(3418, "DDR4 ECC 32Gb", 4, 32, "", "DDR4"), "disks": [part(3611, "3840Gb NVMe", 1, 3840, "NVMe", "NVMe")],
          "gpu": part(3904, "NVIDIA RTX 4090", 2, 24, "", "GPU"), "motherboard": "Supermicro H12SSL-i"}, 54960, ["GPU"], 690)
stock_srv(46511, "46511", "IS", {"platform": part(2104, "Supermicro SC813M 1U"), "cpu": part(3291, "AMD Ryzen 7 7700", 1, 8, "3.8", "AMD-MODERN"),
          "ram": part(3422, "DDR5 32Gb", 2, 32, "", "DDR5"), "disks": [part(3612, "1024Gb NVMe", 2, 1024, "NVMe", "NVMe")],
          "motherboard": "ASRock Rack B650D4U"}, 34830, ["1CPU", "AMD", "AMD-MODERN"], 89)
stock_srv(46620, "46620", "TR", {"platform": part(2104, "Supermicro SC813M 1U"), "cpu": part(3217, "Xeon E-2288G", 1, 8, "3.7", "INTEL"),
          "ram": part(3412, "DDR4 ECC 16Gb", 2, 16, "", "DDR4"), "disks": [part(3590, "480Gb SSD", 2, 480, "SSD", "SSD")],
          "motherboard": "Supermicro X11SCL-F"}, 15946, ["1CPU", "INTEL"], 75)

jenkins = [
    {"id": -1, "task": "", "desc": "Do nothing", "tag": "", "tags": [{"tag": "gpu"}, {"tag": "bm"}, {"tag": "vm"}, {"tag": "vgpu"}, {"tag": "default"}]},
    {"id": 1, "task": "invapi_gpu_conf_iommu_patch_gpu_linux_auto.dsl", "desc": "Install GPU drivers", "tag": "gpu_driver", "tags": [{"tag": "gpu"}, {"tag": "vgpu"}]},
    {"id": 2, "task": "invapi_gpu_conf_iommu_patch_gpu_linux_auto.dsl", "desc": "Install GPU drivers + NVIDIA docker", "tag": "gpu_driver_docker", "tags": [{"tag": "gpu"}, {"tag": "vgpu"}]},
    {"id": 3, "task": "invapi_gpu_conf_iommu_patch_gpu_linux_auto.dsl", "desc": "Install GPU drivers + NVIDIA docker + IOMMU patch", "tag": "gpu_driver_docker_iommu", "tags": [{"tag": "gpu"}]},
]

out = {"presets": presets, "os": oses, "software": software, "traffic_plans": plans, "stock": stock, "jenkins_tasks": jenkins}
path = os.path.join(os.path.dirname(__file__), "..", "seeds", "catalogue.json")
with open(path, "w") as f:
    json.dump(out, f, indent=1)
    f.write("\n")
print(f"wrote {path}: {len(presets)} presets, {len(oses)} OS, {len(software)} software, {len(plans)} plans, {len(stock)} stock")
